"""Constants that both what the user sees and what is stored about updates agree on.

A leaf module, so that durability (chatbot/delivery/journal.py) never imports the UI.
"""
from __future__ import annotations

LOOKALIKE_TAG = r"(?i)(^|\s)/lookalike(@\w+)?(\s|$)"  # in a caption: "answer this photo" in groups
DEEP_LINK = "share"  # t.me/<bot>?start=share, in every shared result
