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


def pair_hash(instruction: str, task_input: str, output: str, rejected_output: str) -> str:
    """A preference pair's identity is its prompt and both responses: pairs borrow their prompts from
    tasks that exist already, so two pairs repeat each other only when their answers do too. The
    responses are sorted, so a pair ranked the other way round is the same pair."""
    responses = sorted((normalize(output), normalize(rejected_output)))
    key = "\x1e".join(("pair", normalize(instruction), normalize(task_input), *responses))
    return hashlib.sha256(key.encode()).hexdigest()


def record_hash(instruction: str, task_input: str = "", output: str = "", rejected_output: str = "") -> str:
    """The identity a stored candidate is compared by: its task, or for a pair, the whole pair."""
    if rejected_output:
        return pair_hash(instruction, task_input, output, rejected_output)
    return content_hash(instruction, task_input)
