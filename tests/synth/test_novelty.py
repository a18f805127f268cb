"""ROUGE-L as Self-Instruct's novelty filter computes it (Google's rouge-score, no stemming)."""

import random

import pytest

from synth.quality.novelty import (
    SELF_INSTRUCT_THRESHOLD,
    Match,
    NoveltyPool,
    lcs_length,
    max_rouge_l,
    rouge_l,
    tokenize,
)


def reference_lcs(a, b):
    """The textbook dynamic-programming table, to check the bit-parallel version against."""
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a, 1):
        for j, y in enumerate(b, 1):
            table[i][j] = table[i - 1][j - 1] + 1 if x == y else max(table[i - 1][j], table[i][j - 1])
    return table[-1][-1]


def test_it_tokenizes_as_rouge_score_does():
    assert tokenize("Give the ICD-10-CM code (A40) for Sepsis, please!") == [
        "give", "the", "icd", "10", "cm", "code", "a40", "for", "sepsis", "please",
    ]  # fmt: skip
    assert tokenize("Café au lait") == ["caf", "au", "lait"]  # non-ASCII letters split words, as there
    assert tokenize("  ...  ") == []


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # Scores computed with rouge-score 0.1.2: RougeScorer(["rougeL"], use_stemmer=False).
        ("Give the ICD-10-CM code for sepsis.", "What is the ICD-10-CM code of sepsis?", 0.7058823529411765),
        ("Café au lait spots", "cafe au lait spots", 0.75),
        ("List the signs of DKA in children.", "List the signs of DKA in adults.", 0.8571428571428571),
        ("Same words here", "same WORDS, here!", 1.0),
        ("Nothing shared", "at all", 0.0),
        ("", "empty against text", 0.0),
    ],
)
def test_it_scores_as_rouge_score_does(a, b, expected):
    assert rouge_l(a, b) == pytest.approx(expected, abs=1e-12)
    assert rouge_l(b, a) == pytest.approx(expected, abs=1e-12)


def test_the_bit_parallel_lcs_agrees_with_the_table():
    rng = random.Random(7)
    vocabulary = ["a", "b", "c", "d", "e"]
    for _ in range(500):
        a = [rng.choice(vocabulary) for _ in range(rng.randint(0, 80))]
        b = [rng.choice(vocabulary) for _ in range(rng.randint(0, 80))]
        assert lcs_length(a, b) == reference_lcs(a, b)


def test_it_finds_the_closest_text_in_a_pool():
    pool = ["Name the components of the CHA2DS2-VASc score.", "List the signs of DKA in adults."]
    match = max_rouge_l("List the signs of DKA in children.", pool)
    assert match == Match(pytest.approx(0.857, abs=1e-3), 1, "List the signs of DKA in adults.")
    assert max_rouge_l("anything", []) == Match(0.0)


def test_self_instruct_keeps_only_instructions_at_or_below_the_threshold():
    assert SELF_INSTRUCT_THRESHOLD == 0.7
    pool = NoveltyPool(["List the signs of DKA in adults."])
    assert not pool.is_novel("List the signs of DKA in children.")  # 0.857
    assert pool.is_novel("Which findings make up the qSOFA score?")
    pool.add("Which findings make up the qSOFA score?")
    assert not pool.is_novel("Which findings make up the qSOFA score")
    assert len(pool) == 2


def test_self_instruct_drops_tasks_needing_images_or_files_and_near_repeats():
    from synth.techniques.self_instruct import screen_instruction

    pool = NoveltyPool(["List the signs of DKA in adults."])
    assert (
        screen_instruction("Describe the chest X-ray image below.", pool, threshold=0.7).reason
        == "needs_media"
    )
    assert screen_instruction("Summarize the attached file.", pool, threshold=0.7).reason == "needs_media"
    near = screen_instruction("List the signs of DKA in children.", pool, threshold=0.7)
    assert near.reason == "rouge_l_novelty"
    assert near.evidence == {
        "rouge_l": pytest.approx(0.8571428571428571),
        "threshold": 0.7,
        "most_similar": "List the signs of DKA in adults.",
    }
    assert screen_instruction("List the signs of DKA in children.", pool, threshold=0.9) is None
    assert screen_instruction("", pool, threshold=0.7).reason == "empty_instruction"
