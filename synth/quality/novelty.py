"""ROUGE-L between texts, as Self-Instruct's novelty filter uses it (shared with the quality gate).

Stable names for other modules:

- ``tokenize(text)``: the tokens ROUGE-L compares.
- ``rouge_l(a, b)``: the ROUGE-L F-measure of two texts (symmetric), 0.0 to 1.0.
- ``max_rouge_l(text, pool)``: the highest ROUGE-L of a text against a pool and the pool entry that
  scored it, as a ``Match`` (``score`` 0.0 and ``index``/``text`` None for an empty pool).
- ``NoveltyPool``: a pool that tokenizes each entry once; ``add()`` entries, ``best_match(text)``.

Tokenization matches Google's ``rouge-score`` package (what the Self-Instruct code calls, with
``use_stemmer=False``): lower-case, every run of characters other than ``a-z0-9`` becomes a space,
split on spaces. Scores therefore equal ``rouge_scorer.RougeScorer(["rougeL"]).score(...).fmeasure``.

Why not the package itself: it pulls in nltk, absl-py and numpy for a dozen lines of code, and its
longest-common-subsequence is a pure-Python table (O(n·m) per pair). Here the LCS length is computed
bit-parallel (Hyyrö 2004: one big-integer add per token of the second text), which makes scoring a
new instruction against a pool of thousands fast enough to run inside every generation step.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_NON_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")

# Self-Instruct (Wang et al., 2023) keeps a new instruction only when its ROUGE-L against every
# instruction already in the pool is at most 0.7.
SELF_INSTRUCT_THRESHOLD = 0.7


def tokenize(text: str) -> list[str]:
    """The tokens rouge-score compares (no stemming)."""
    return _NON_ALPHANUMERIC.sub(" ", text.lower()).split()


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token sequences (bit-parallel)."""
    if len(a) < len(b):
        a, b = b, a  # the longer sequence becomes the bit vector: fewer loop turns in Python
    if not b:
        return 0
    masks: dict[str, int] = {}
    for position, token in enumerate(a):
        masks[token] = masks.get(token, 0) | (1 << position)
    full = (1 << len(a)) - 1
    v = full
    for token in b:
        matched = v & masks.get(token, 0)
        v = ((v + matched) | (v - matched)) & full
    return len(a) - v.bit_count()


def _f_measure(lcs: int, len_a: int, len_b: int) -> float:
    if not lcs:
        return 0.0
    precision, recall = lcs / len_b, lcs / len_a
    return 2 * precision * recall / (precision + recall)


def rouge_l_tokens(a: Sequence[str], b: Sequence[str]) -> float:
    """ROUGE-L F-measure of two already tokenized texts."""
    return _f_measure(lcs_length(a, b), len(a), len(b))


def rouge_l(a: str, b: str) -> float:
    """ROUGE-L F-measure of two texts, 0.0 (nothing in common) to 1.0 (same tokens in order)."""
    return rouge_l_tokens(tokenize(a), tokenize(b))


@dataclass(frozen=True)
class Match:
    score: float
    index: int | None = None  # position in the pool of the entry that scored highest
    text: str | None = None


class NoveltyPool:
    """Texts a new one is compared against; each entry is tokenized once."""

    def __init__(self, texts: Iterable[str] = ()) -> None:
        self.texts: list[str] = []
        self._tokens: list[list[str]] = []
        for text in texts:
            self.add(text)

    def __len__(self) -> int:
        return len(self.texts)

    def add(self, text: str) -> None:
        self.texts.append(text)
        self._tokens.append(tokenize(text))

    def best_match(self, text: str) -> Match:
        tokens = tokenize(text)
        best = Match(0.0)
        for index, other in enumerate(self._tokens):
            score = rouge_l_tokens(tokens, other)
            if score > best.score:
                best = Match(score, index, self.texts[index])
                if score >= 1.0:
                    break
        return best

    def is_novel(self, text: str, *, threshold: float = SELF_INSTRUCT_THRESHOLD) -> bool:
        return self.best_match(text).score <= threshold


def max_rouge_l(text: str, pool: Iterable[str]) -> Match:
    """The highest ROUGE-L F-measure of `text` against any text in `pool`, and which one it was."""
    return NoveltyPool(pool).best_match(text)
