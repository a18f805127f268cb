"""Near-duplicates among many copies of one text: each copy is reported once, as a duplicate of the first
copy, and nothing distinct is taken for a copy."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

from synth.quality import dedup

VOCAB = [f"term{i}" for i in range(5000)]


def shingles(text: str, k: int = 3) -> frozenset[str]:
    """The reference: word k-shingles with plain Python (a text shorter than k is one shingle)."""
    w = re.findall(r"\w+", text.lower())
    return frozenset(" ".join(w[i : i + k]) for i in range(max(len(w) - k + 1, 1))) if w else frozenset()


def expected_pairs(texts: list[str], threshold: float = 0.8) -> list[tuple[int, int]]:
    """Every pair at or above the threshold by exact Jaccard, where a text with the same shingles as an
    earlier one (a copy) is paired with the first of them only."""
    sets = [shingles(t) for t in texts]
    first: dict[frozenset[str], int] = {}
    original = [first.setdefault(s, i) if s else i for i, s in enumerate(sets)]
    pairs = []
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            a, b = sets[i], sets[j]
            if not a or not b or len(a & b) / len(a | b) < threshold:
                continue
            if original[j] == i or (original[i] == i and original[j] == j):
                pairs.append((i, j))
    return pairs


def corpus_with_copies(seed: int = 3) -> tuple[list[str], list[int]]:
    """Unrelated 40-word texts with near-copies (1 to 4 words replaced), then 200 copies of one text
    with its own near-copy, 50 copies of a near-copy of another, and copies differing only in case and
    punctuation, all shuffled; returns the texts and where the 200 copies are."""
    rng = random.Random(seed)
    texts = []
    for _ in range(40):
        base = rng.sample(VOCAB, 40)
        texts.append(" ".join(base))
        for replaced in (1, 2, 3, 4):
            copy = list(base)
            for position in rng.sample(range(3, 37), replaced):
                copy[position] = rng.choice(VOCAB)
            texts.append(" ".join(copy))
    copied = " ".join(rng.sample(VOCAB, 45))
    near = copied.split()
    near[20] = "changed"
    texts += [copied] * 200 + [" ".join(near)] + [texts[7]] * 50
    texts += [texts[12].upper(), texts[12].replace(" ", ", ") + "!"]
    order = list(range(len(texts)))
    rng.shuffle(order)
    shuffled = [texts[i] for i in order]
    return shuffled, [place for place, i in enumerate(order) if 200 <= i < 400]


def test_it_reports_what_exact_jaccard_says_with_copies_paired_with_the_first_only():
    texts, _ = corpus_with_copies()
    expected = expected_pairs(texts)
    assert dedup.find_near_duplicates(texts) == expected
    assert len(expected) < 500  # not the 19,900 pairs of every two of the 200 copies


def test_every_copy_is_a_duplicate_of_the_first_copy_and_of_no_other():
    texts, copies = corpus_with_copies(seed=5)
    first, later = copies[0], copies[1:]
    pairs = dedup.near_duplicate_pairs(texts)
    with_first = {j: similarity for i, j, similarity in pairs if i == first}
    assert all(with_first[c] == 1.0 for c in later)
    assert not [(i, j) for i, j, _ in pairs if i in later or (j in later and i != first)]


def test_copies_up_to_case_and_punctuation_are_copies():
    text = "fever and cough for three days with a rash on the left arm since monday"
    texts = [text, text.upper(), text.replace(" ", ", ") + "!", "an unrelated note about a sprained ankle"]
    assert dedup.near_duplicate_pairs(texts) == [(0, 1, 1.0), (0, 2, 1.0)]


def test_the_same_words_in_another_order_are_not_a_copy():
    words = [f"w{i}" for i in range(40)]
    texts = [" ".join(words)] * 3 + [" ".join(reversed(words))]
    assert dedup.find_near_duplicates(texts) == [(0, 1), (0, 2)]


def test_many_empty_texts_are_still_never_duplicates():
    assert dedup.find_near_duplicates(["", "   ", "!!"] * 50 + ["one two three four"]) == []


def near_copy_with_the_same_signature() -> tuple[str, str]:
    """Two 400-word texts one word apart (Jaccard 397/399) whose 128-value signatures are equal."""
    config = dedup.DedupConfig()
    for seed in range(100):
        base = random.Random(seed).choices(VOCAB, k=400)
        for word in VOCAB[:20]:
            texts = [" ".join(base), " ".join([*base[:-1], word])]
            hashes, offsets = dedup.shingle_hashes(texts, config.shingle_size)
            sigs = dedup.signatures(hashes, offsets, config.num_perm)
            if word != base[-1] and np.array_equal(sigs[0], sigs[1]):
                return texts[0], texts[1]
    raise AssertionError("no word gave the same signature")


def test_an_equal_signature_with_other_shingles_is_no_copy():
    base, other = near_copy_with_the_same_signature()
    exact = len(shingles(base) & shingles(other)) / len(shingles(base) | shingles(other))
    assert exact < 1.0
    texts = [base, other, base]
    pairs = dedup.near_duplicate_pairs(texts)
    assert [(i, j) for i, j, _ in pairs] == [(0, 1), (0, 2)]
    assert pairs[0][2] == pytest.approx(exact) and pairs[1][2] == 1.0


def test_identical_signatures_pairs_each_later_row_with_the_first_of_its_signature():
    rng = np.random.default_rng(0)
    sigs = rng.integers(0, 2**32, size=(6, 128), dtype=np.uint32)
    sigs[2] = sigs[4] = sigs[0]
    sigs[5] = sigs[1]
    sigs[5, -1] += 1  # equal in the values the key is folded from, not in the last
    nonempty = np.array([True, True, True, True, False, True])
    assert dedup.identical_signatures(sigs, nonempty).tolist() == [[0, 2]]
