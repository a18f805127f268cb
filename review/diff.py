"""Word-level differences between an item's text and a physician's edit, for showing before saving."""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

_TOKENS = re.compile(r"\s+|\S+\s*")  # words carry their trailing space, so spaces never anchor a match


@dataclass(frozen=True)
class Piece:
    kind: str  # "same", "added" or "removed"
    text: str


@dataclass(frozen=True)
class FieldDiff:
    label: str
    pieces: list[Piece]

    @property
    def changed(self) -> bool:
        return any(piece.kind != "same" for piece in self.pieces)


def word_diff(before: str, after: str) -> list[Piece]:
    old, new = _TOKENS.findall(before), _TOKENS.findall(after)
    pieces: list[Piece] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op == "equal":
            pieces.append(Piece("same", "".join(old[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(Piece("removed", "".join(old[i1:i2])))
        if j2 > j1:
            pieces.append(Piece("added", "".join(new[j1:j2])))
    return pieces


def edit_diff(*, before: dict[str, str], after: dict[str, str]) -> list[FieldDiff]:
    """The changed fields among instruction, input and response, each as a word diff."""
    labels = {"instruction": "Instruction", "input": "Input", "output": "Response"}
    diffs = [
        FieldDiff(label, word_diff(before.get(name, "").strip(), after.get(name, "").strip()))
        for name, label in labels.items()
    ]
    return [diff for diff in diffs if diff.changed]
