"""Exact-duplicate detection on normalized text: the first, cheapest quality check."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_PUNCTUATION = re.compile(r"[^\w\s]")
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Case, accents, punctuation and spacing do not make a task new."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE.sub(" ", _PUNCTUATION.sub(" ", text)).strip()


def content_hash(instruction: str, task_input: str = "") -> str:
    """The identity of a task is its instruction and input; two answers to one task are duplicates."""
    key = normalize(instruction) + "\x1f" + normalize(task_input)
    return hashlib.sha256(key.encode()).hexdigest()
