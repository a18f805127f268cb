"""Near-duplicate detection: MinHash signatures in bulk, a banded MinHashLSH, exact Jaccard to confirm.

The signatures are datasketch MinHash values of the "affine32" scheme (datasketch 2.0's default),
computed for many texts at once with numpy instead of one `MinHash.update` per shingle: every
text's word shingles are hashed into one array, permuted in blocks, and reduced per text. They are
bit for bit what `datasketch.MinHash(seed=..., scheme="affine32", hashfunc=...)` would hold after
`update_batch` of the same shingle hashes, so a stored signature becomes a `LeanMinHash` again.

The LSH bands and rows are chosen here, not by datasketch's default, whose choice at 0.8 and 128
permutations finds only about half the pairs at exactly 0.8: we pick the most rows per band (fewest
false candidates) that still catch a pair at the threshold with probability >= RECALL_AT_THRESHOLD,
then confirm every candidate pair with the exact Jaccard similarity of the shingle sets.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

SCHEME = "affine32"
SEED = 1
RECALL_AT_THRESHOLD = 0.995
# Shingles permuted at once: bounds memory at BLOCK x num_perm x 4 bytes (about 50 MB at 128).
BLOCK = 100_000

_WORD = re.compile(r"\w+")
_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class DedupConfig:
    threshold: float = 0.8
    shingle_size: int = 3
    num_perm: int = 128

    def __post_init__(self) -> None:
        if not 0 < self.threshold <= 1:
            raise ValueError("The near-duplicate threshold must be above 0 and at most 1.")
        if self.shingle_size < 1:
            raise ValueError("The shingle size must be at least 1 word.")
        if self.num_perm < 16:
            raise ValueError("Use at least 16 permutations.")

    @property
    def scheme(self) -> str:
        """Everything a stored signature depends on: signatures of another scheme are never mixed."""
        return f"{SCHEME}/seed{SEED}/perm{self.num_perm}/word{self.shingle_size}/sha1-fmix64"

    @property
    def bands(self) -> tuple[int, int]:
        return lsh_params(self.threshold, self.num_perm)


def lsh_params(threshold: float, num_perm: int, recall: float = RECALL_AT_THRESHOLD) -> tuple[int, int]:
    """(bands, rows): the most rows per band whose chance of catching a pair at the threshold,
    1 - (1 - t^rows)^bands, is at least `recall`."""
    best = (num_perm // 2, 2) if num_perm >= 4 else (num_perm, 1)
    for rows in range(1, num_perm // 2 + 1):
        bands = num_perm // rows
        if bands < 2:
            break
        if 1 - (1 - threshold**rows) ** bands >= recall:
            best = (bands, rows)
    return best


# --- shingles --------------------------------------------------------------------------------------


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def words(text: str) -> list[str]:
    return _WORD.findall(normalize(text))


_word_hashes: dict[str, int] = {}
_SEPARATOR = "\x00"  # between texts in one corpus string: never part of a word
_TOKEN = re.compile(r"\w+|\x00")


def _hash_new_words(tokens: Iterable[str]) -> None:
    """SHA-1 (first 8 bytes) of each word not seen before; the cache is bounded, vocabularies small."""
    if len(_word_hashes) > 2_000_000:
        _word_hashes.clear()
    for word in dict.fromkeys(tokens):
        if word not in _word_hashes:
            _word_hashes[word] = int.from_bytes(
                hashlib.sha1(word.encode(), usedforsecurity=False).digest()[:8], "little"
            )
    _word_hashes[_SEPARATOR] = 0


def _fmix64(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def shingle_hashes(texts: Sequence[str], shingle_size: int) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every text's word shingles, concatenated, and where each text's start.

    The whole corpus is normalized and split into words in one pass (texts joined by a separator
    that is never part of a word); each distinct word is hashed once (SHA-1, cached) and shingles
    are combined from word hashes with numpy. A text shorter than the shingle size is one shingle of
    all its words; an empty text has none. Returns (hashes, offsets), len(offsets) == len(texts) + 1.
    """
    n = len(texts)
    if any(_SEPARATOR in t for t in texts):
        texts = [t.replace(_SEPARATOR, " ") for t in texts]
    tokens = _TOKEN.findall(normalize(_SEPARATOR.join(texts)))
    _hash_new_words(tokens)
    flat_all = np.fromiter(map(_word_hashes.__getitem__, tokens), dtype=np.uint64, count=len(tokens))
    is_word = flat_all != 0
    flat = flat_all[is_word]
    # words before each separator = where each text's words end
    separators = np.flatnonzero(~is_word)
    ends = np.empty(n, dtype=np.int64)
    ends[: n - 1] = separators - np.arange(n - 1)
    ends[n - 1] = len(flat)
    word_starts = np.zeros(n + 1, dtype=np.int64)
    word_starts[1:] = ends
    lengths = np.diff(word_starts)
    counts = np.where(lengths == 0, 0, np.maximum(lengths - shingle_size + 1, 1))
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    total = int(offsets[-1])
    if not total:
        return np.zeros(0, dtype=np.uint64), offsets
    # Position of each shingle's first word, and how many words it spans (fewer for short texts).
    doc_of = np.repeat(np.arange(n), counts)
    first = word_starts[:-1][doc_of] + (np.arange(total) - offsets[:-1][doc_of])
    span = np.minimum(lengths[doc_of], shingle_size)
    h = flat[first]
    with np.errstate(over="ignore"):
        for j in range(1, shingle_size):
            nxt = flat[np.minimum(first + j, len(flat) - 1)]
            h = np.where(span > j, _fmix64(h * _MIX + nxt), h)
    return h, offsets


# --- signatures ----------------------------------------------------------------------------------


@cache
def _permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    a, b = MinHash(num_perm=num_perm, seed=SEED, scheme=SCHEME).permutations
    return a.astype(np.uint32), b.astype(np.uint32)


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, as datasketch's affine schemes pre-mix their input."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def minhash_input(shingles: np.ndarray) -> np.ndarray:
    """The 32-bit value each shingle feeds to MinHash (what datasketch calls the hashfunc's output)."""
    return (shingles >> np.uint64(32)).astype(np.uint32)


def signatures(hashes: np.ndarray, offsets: np.ndarray, num_perm: int) -> np.ndarray:
    """MinHash signatures (texts x num_perm, uint32) from shingle hashes, many texts at a time.

    Permutations run over a block of shingles laid out one permutation per row, so the per-text
    minimum is a contiguous reduce. An empty text gets the empty signature (all values at their
    maximum), as datasketch's.
    """
    a, b = _permutations(num_perm)
    n = len(offsets) - 1
    out = np.full((n, num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
    nonempty = np.flatnonzero(offsets[1:] > offsets[:-1])
    if not len(nonempty):
        return out
    values = _fmix32(minhash_input(hashes))
    ends = offsets[nonempty + 1]
    start = 0
    while start < len(nonempty):
        # as many whole texts as fit in one block (at least one)
        base = offsets[nonempty[start]]
        stop = max(int(np.searchsorted(ends, base + BLOCK, side="right")), start + 1)
        docs = nonempty[start:stop]
        block = values[base : ends[stop - 1]]
        with np.errstate(over="ignore"):
            permuted = a[:, None] * block[None, :] + b[:, None]
        out[docs] = np.minimum.reduceat(permuted, offsets[docs] - base, axis=1).T
        start = stop
    return out


def lean_minhash(signature: np.ndarray) -> LeanMinHash:
    return LeanMinHash(seed=SEED, hashvalues=signature, scheme=SCHEME)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two shingle-hash sets (sorted unique arrays)."""
    if not len(a) or not len(b):
        return 0.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def shingle_sets(hashes: np.ndarray, offsets: np.ndarray) -> list[np.ndarray]:
    return [np.unique(hashes[offsets[i] : offsets[i + 1]]) for i in range(len(offsets) - 1)]


def new_lsh(config: DedupConfig, storage_config: dict | None = None) -> MinHashLSH:
    return MinHashLSH(
        threshold=config.threshold,
        num_perm=config.num_perm,
        params=config.bands,
        storage_config=storage_config,
    )


# --- the batch entry point ------------------------------------------------------------------------


def find_near_duplicates(
    texts: Sequence[str], threshold: float = 0.8, *, config: DedupConfig | None = None
) -> list[tuple[int, int]]:
    """Pairs (i, j), i < j, of texts whose Jaccard similarity over word shingles reaches the threshold.

    LSH proposes pairs (any band in common); each is confirmed with the exact Jaccard similarity.
    """
    return [(i, j) for i, j, _ in near_duplicate_pairs(texts, threshold, config=config)]


def near_duplicate_pairs(
    texts: Sequence[str], threshold: float = 0.8, *, config: DedupConfig | None = None
) -> list[tuple[int, int, float]]:
    """As find_near_duplicates, with each pair's exact Jaccard similarity."""
    base = config or configured()
    config = DedupConfig(threshold=threshold, shingle_size=base.shingle_size, num_perm=base.num_perm)
    hashes, offsets, sigs = _hash_and_sign(texts, config)
    candidates = candidate_pairs(sigs, config.bands, nonempty=offsets[1:] > offsets[:-1])
    sets: dict[int, np.ndarray] = {}

    def shingle_set(i: int) -> np.ndarray:
        if i not in sets:
            sets[i] = np.unique(hashes[offsets[i] : offsets[i + 1]])
        return sets[i]

    pairs = []
    for i, j in sorted(candidates):
        similarity = jaccard(shingle_set(i), shingle_set(j))
        if similarity >= threshold:
            pairs.append((i, j, similarity))
    return pairs


# Texts hashed and signed at a time: keeps the token lists and shingle arrays small enough to stay
# in cache (one pass over a whole 100,000-text corpus was several times slower per text).
TEXT_CHUNK = 5_000


def _hash_and_sign(texts: Sequence[str], config: DedupConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    hash_parts, offset_parts, sig_parts = [], [np.zeros(1, dtype=np.int64)], []
    base = 0
    for start in range(0, len(texts), TEXT_CHUNK):
        hashes, offsets = shingle_hashes(texts[start : start + TEXT_CHUNK], config.shingle_size)
        sig_parts.append(signatures(hashes, offsets, config.num_perm))
        hash_parts.append(hashes)
        offset_parts.append(offsets[1:] + base)
        base += int(offsets[-1])
    if not sig_parts:
        return (
            np.zeros(0, dtype=np.uint64),
            np.zeros(1, dtype=np.int64),
            np.zeros((0, config.num_perm), np.uint32),
        )
    return np.concatenate(hash_parts), np.concatenate(offset_parts), np.concatenate(sig_parts)


_BAND_MIX = np.random.RandomState(SEED).randint(1, 2**62, size=512, dtype=np.uint64) | np.uint64(1)


def candidate_pairs(
    sigs: np.ndarray, bands: tuple[int, int], *, nonempty: Sequence[bool]
) -> set[tuple[int, int]]:
    """Pairs of rows sharing at least one band: MinHashLSH's banding, done as a sort per band.

    Each band's rows are folded into one 64-bit key (a collision only adds a pair that the exact
    Jaccard check then drops); rows with equal keys form a bucket.
    """
    n_bands, rows = bands
    keep = np.asarray(nonempty, dtype=bool)
    ids = np.flatnonzero(keep)
    found: set[tuple[int, int]] = set()
    if len(ids) < 2:
        return found
    sub = sigs[ids].astype(np.uint64)
    with np.errstate(over="ignore"):
        for band in range(n_bands):
            key = np.zeros(len(ids), dtype=np.uint64)
            for r in range(rows):
                key = _fmix64(key * _MIX + sub[:, band * rows + r] * _BAND_MIX[r])
            order = np.argsort(key, kind="stable")
            ordered = key[order]
            same = ordered[1:] == ordered[:-1]
            if not same.any():
                continue
            # runs of equal keys: bucket boundaries where the key changes
            run_starts = np.flatnonzero(np.concatenate(([True], ~same)))
            run_ends = np.concatenate((run_starts[1:], [len(order)]))
            for s, e in zip(
                run_starts[run_ends - run_starts > 1], run_ends[run_ends - run_starts > 1], strict=True
            ):
                members = np.sort(ids[order[s:e]])
                for x in range(len(members)):
                    for y in range(x + 1, len(members)):
                        found.add((int(members[x]), int(members[y])))
    return found


def configured() -> DedupConfig:
    """The settings' dedup configuration (the defaults when Django is not set up, e.g. in bench/)."""
    from django.conf import settings

    if not settings.configured:
        return DedupConfig()
    return DedupConfig(
        threshold=settings.DEDUP_THRESHOLD,
        shingle_size=settings.DEDUP_SHINGLE_SIZE,
        num_perm=settings.DEDUP_NUM_PERM,
    )


def texts_signatures(texts: Iterable[str], config: DedupConfig) -> tuple[np.ndarray, list[np.ndarray]]:
    texts = list(texts)
    hashes, offsets = shingle_hashes(texts, config.shingle_size)
    return signatures(hashes, offsets, config.num_perm), shingle_sets(hashes, offsets)
