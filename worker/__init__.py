"""The face pipeline: image bytes in, face boxes and 128-d descriptors out.

Runs inside worker processes (see ``worker.pool``) because dlib holds the GIL.
"""
from worker.outcome import EmbedResult, Face, Outcome

__all__ = ["EmbedResult", "Face", "Outcome"]
