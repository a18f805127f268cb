"""Near-duplicates: planted pairs of known Jaccard similarity, datasketch-compatible signatures,
LSH bands chosen for recall, and the gate's corpus index persisted and rebuilt."""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH

from synth.models import Candidate, MinHashSignature, QualityResult, SeedTask
from synth.quality import dedup
from synth.quality.corpus import CorpusIndex, corpus_index, reset_indexes
from synth.quality.gate import apply_gate

VOCAB = [f"term{i}" for i in range(5000)]


def shingle_jaccard(a: str, b: str, k: int = 3) -> float:
    """The reference: exact Jaccard of word k-shingle sets, with plain Python sets."""

    def shingles(text: str) -> set[str]:
        w = re.findall(r"\w+", text.lower())
        return {" ".join(w[i : i + k]) for i in range(len(w) - k + 1)}

    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y)


def planted(seed: int = 3) -> tuple[list[str], dict[tuple[int, int], float]]:
    """Unrelated 40-word texts, and copies with 1 to 4 words replaced: similarities around 0.8."""
    rng = random.Random(seed)
    texts = []
    for _ in range(60):
        base = rng.sample(VOCAB, 40)
        texts.append(" ".join(base))
        for replaced in (1, 2, 3, 4):
            copy = list(base)
            for position in rng.sample(range(3, 37), replaced):  # inner words: 3 shingles each
                copy[position] = rng.choice(VOCAB)
            texts.append(" ".join(copy))
    truth = {
        (i, j): shingle_jaccard(texts[i], texts[j])
        for i in range(len(texts))
        for j in range(i + 1, len(texts))
        if i // 5 == j // 5
    }
    return texts, truth


def test_it_finds_exactly_the_planted_pairs_at_or_above_the_threshold():
    texts, truth = planted()
    expected = sorted(pair for pair, similarity in truth.items() if similarity >= 0.8)
    just_below = [s for s in truth.values() if 0.7 <= s < 0.8]
    assert expected and just_below  # the planted similarities straddle the threshold
    assert dedup.find_near_duplicates(texts, threshold=0.8) == expected


def test_it_reports_the_exact_similarity_of_each_pair():
    texts, truth = planted(seed=5)
    for i, j, similarity in dedup.near_duplicate_pairs(texts, 0.7):
        assert similarity == pytest.approx(truth[(i, j)])


def test_pairs_are_ordered_and_empty_texts_are_never_duplicates():
    texts = ["", "", "fever and cough for three days", "Fever, and cough for three days!", "   "]
    assert dedup.find_near_duplicates(texts) == [(2, 3)]


def test_signatures_are_what_datasketch_computes_one_update_at_a_time():
    texts = ["a b c d e f g", "hello world", "", "one", "The quick brown fox jumps over the lazy dog"]
    hashes, offsets = dedup.shingle_hashes(texts, 3)
    sigs = dedup.signatures(hashes, offsets, 128)
    for i in range(len(texts)):
        reference = MinHash(num_perm=128, seed=dedup.SEED, scheme=dedup.SCHEME, hashfunc=int)
        for value in dedup.minhash_input(hashes[offsets[i] : offsets[i + 1]]):
            reference.update(int(value))
        assert np.array_equal(reference.hashvalues, sigs[i])
    # a stored signature comes back as a LeanMinHash of the recorded scheme, comparable as before
    restored = dedup.lean_minhash(np.frombuffer(sigs[0].tobytes(), dtype=np.uint32))
    assert restored.scheme == "affine32" and restored.jaccard(dedup.lean_minhash(sigs[0])) == 1.0


def test_every_text_gets_the_sha1_of_its_words_in_a_batch_mixing_ascii_and_other_text():
    """ASCII texts take a fast bytes path, the others the regex path: both must give the scheme's words
    (NFKC, casefolded, runs of word characters) and their SHA-1 hashes, each text in its place."""
    texts = [
        "Fever, COUGH and_rash\tfor 3 days!",
        "Ménière's disease: vertigo ≥ 2 episodes – tinnitus",
        "",
        "BP 140/90 mmHg; HR 110 bpm",
        "ﬁbrosis of the lung (NFKC: fi), 5 µg daily",
        "   ",
        "one",
        "Ｆｕｌｌ-width ＬＥＴＴＥＲＳ",
    ]
    hashes, offsets = dedup.shingle_hashes(texts, 1)  # one-word shingles are the word hashes themselves
    for i, text in enumerate(texts):
        expected = [
            int.from_bytes(hashlib.sha1(word.encode(), usedforsecurity=False).digest()[:8], "little")
            for word in re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold())
        ]
        assert hashes[offsets[i] : offsets[i + 1]].tolist() == expected, text


def test_the_bands_catch_pairs_at_the_threshold_where_datasketchs_default_does_not():
    bands, rows = dedup.lsh_params(0.8, 128)
    assert bands * rows <= 128
    assert 1 - (1 - 0.8**rows) ** bands >= 0.995
    default = MinHashLSH(threshold=0.8, num_perm=128)
    assert 1 - (1 - 0.8**default.r) ** default.b < 0.9


def test_settings_change_the_scheme_recorded_with_signatures(settings):
    settings.DEDUP_SHINGLE_SIZE = 2
    assert dedup.configured().scheme == "affine32/seed1/perm128/word2/sha1-fmix64"
    with pytest.raises(ValueError, match="threshold"):
        dedup.DedupConfig(threshold=1.5)


NOTE = (
    "A 54-year-old man has crushing chest pain radiating to the left arm for two hours with sweating "
    "and nausea; ECG shows ST elevation in leads II, III and aVF. What is the next step?"
)
NOTE_COPY = NOTE.replace("two hours", "three hours")


def test_the_gate_drops_a_near_duplicate_of_a_seed_task_naming_it(demo_config, make_candidate):
    seed = SeedTask.objects.create(
        domain=SeedTask.objects.first().domain, instruction=NOTE, output="Cath lab."
    )
    candidate = apply_gate(make_candidate(NOTE_COPY))
    assert candidate.status == Candidate.Status.FILTERED
    assert candidate.filter_reason == "near_duplicate"
    result = QualityResult.objects.get(candidate=candidate, check_name="near_duplicate")
    assert result.evidence["duplicate_of"] == {"kind": "seed_task", "id": seed.pk}
    assert result.score == pytest.approx(shingle_jaccard(NOTE, NOTE_COPY), abs=1e-4)
    assert "Near-duplicate of seed task" in result.reason


def test_the_gate_keeps_the_first_of_two_candidates_and_drops_the_second(make_candidate):
    first = apply_gate(make_candidate(NOTE))
    second = apply_gate(make_candidate(NOTE_COPY))
    assert first.status == Candidate.Status.PASSED
    assert second.status == Candidate.Status.FILTERED
    evidence = second.quality_results.get(check_name="near_duplicate").evidence
    assert evidence["duplicate_of"] == {"kind": "candidate", "id": first.pk}
    # re-gating the first never makes it a copy of the later one
    assert apply_gate(first).status == Candidate.Status.PASSED


def test_signatures_are_persisted_and_the_index_is_rebuilt_after_a_restart(make_candidate):
    first = apply_gate(make_candidate(NOTE))
    stored = MinHashSignature.objects.get(kind="candidate", object_id=first.pk)
    assert stored.scheme == dedup.configured().scheme
    reset_indexes()  # a new process: nothing in memory
    second = apply_gate(make_candidate(NOTE_COPY))
    assert second.status == Candidate.Status.FILTERED
    # the index came from the stored signature, not from recomputing the first candidate
    assert stored.pk in corpus_index().loaded


def test_unrelated_candidates_pass(make_candidate):
    apply_gate(make_candidate(NOTE))
    other = apply_gate(
        make_candidate("List the first-line treatments for community-acquired pneumonia in adults.")
    )
    assert other.status == Candidate.Status.PASSED
    assert other.quality_results.get(check_name="near_duplicate").passed


def test_with_redis_the_index_lives_in_redis_and_workers_share_it(settings, redis_url, make_candidate):
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    settings.REDIS_URL = redis_url
    first = apply_gate(make_candidate(NOTE))
    corpus_index().refresh()  # worker A indexes the new signature, in Redis
    # worker B: a new process whose index has read nothing from the database
    config = dedup.configured()
    worker_b = CorpusIndex(config, redis_url)
    signature = dedup.texts_signatures([NOTE_COPY], config)[0][0]
    assert f"candidate:{first.pk}" in worker_b.lsh.query(dedup.lean_minhash(signature))
    assert redis.Redis.from_url(redis_url).dbsize() > 0
    reset_indexes()
    second = apply_gate(make_candidate(NOTE_COPY))
    assert second.status == Candidate.Status.FILTERED
