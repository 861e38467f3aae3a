"""Nearest celebrities: the HNSW index, exact reference search and the % maths."""
from search.index import FaceIndex, Match
from search.similarity import similarity

__all__ = ["FaceIndex", "Match", "similarity"]
