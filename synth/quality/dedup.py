"""Near-duplicate detection: MinHash signatures in bulk, a banded MinHashLSH, exact Jaccard to confirm.

The signatures are datasketch MinHash values of the "affine32" scheme (datasketch 2.0's default),
computed for many texts at once with numpy instead of one `MinHash.update` per shingle: every
text's word shingles are hashed into one array, permuted in blocks, and reduced per text. They are
bit for bit what `datasketch.MinHash(seed=..., scheme="affine32", hashfunc=...)` would hold after
`update_batch` of the same shingle hashes, so a stored signature becomes a `LeanMinHash` again.

The LSH bands and rows are chosen here, not by datasketch's default, whose choice at 0.8 and 128
permutations finds only about half the pairs at exactly 0.8: we pick the most rows per band (fewest
false candidates) that still catch a pair at the threshold with probability >= RECALL_AT_THRESHOLD,
then confirm every candidate pair with the exact Jaccard similarity of the shingle sets. The
banding itself is a sort per band over all signatures (numpy), not a MinHashLSH insert per text;
MinHashLSH holds the persistent corpus index (synth/quality/corpus.py).
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
# Shingles permuted at once: BLOCK x num_perm x 4 bytes (8 MB at 128 permutations).
BLOCK = 16_384

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


class _WordHashes(dict):
    """Word -> first 8 bytes of its SHA-1 (little-endian), computed on the first lookup of each word.

    Keys are str (the regex path) or bytes (the ASCII path): the same word gets the same value either
    way, as SHA-1 sees its UTF-8 bytes. The separator between texts maps to 0.
    """

    def __missing__(self, word: str | bytes) -> int:
        data = word if isinstance(word, bytes) else word.encode()
        if data == b"\x00":  # the separator (here, not only preset: another thread may clear the cache)
            value = 0
        else:
            value = int.from_bytes(hashlib.sha1(data, usedforsecurity=False).digest()[:8], "little")
        self[word] = value
        return value

    def bounded(self) -> _WordHashes:
        if len(self) > 2_000_000:  # vocabularies are small; a hostile stream of new words is not
            self.clear()
        return self


_word_hashes = _WordHashes()
_SEPARATOR = "\x00"  # between texts in one corpus string: never part of a word
_TOKEN = re.compile(r"\w+|\x00")
# ASCII text: NFKC changes nothing and casefold is lower(), and \w is [A-Za-z0-9_], so one bytes
# translate (letters lowered, other non-word bytes to spaces) and split give the regex's words.
_ASCII_WORDS = bytes(
    ord(chr(c).lower()) if c < 128 and (chr(c).isalnum() or chr(c) == "_") else 0 if c == 0 else ord(" ")
    for c in range(256)
)


def _token_hashes(texts: Sequence[str], *, ascii_only: bool) -> np.ndarray:
    """Word hashes of the texts in order, with a 0 between consecutive texts."""
    hashes = _word_hashes.bounded()
    if ascii_only:
        corpus = " \x00 ".join(texts).encode("ascii").translate(_ASCII_WORDS)
        tokens: list = corpus.split()
    else:
        tokens = _TOKEN.findall(normalize(_SEPARATOR.join(texts)))
    return np.fromiter(map(hashes.__getitem__, tokens), dtype=np.uint64, count=len(tokens))


def _word_hashes_and_lengths(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Every text's word hashes, concatenated in order, and each text's number of words.

    ASCII texts take the fast bytes path together and the others the regex path together; the two
    results are then interleaved back into the texts' order.
    """
    n = len(texts)
    if "".join(texts).isascii():
        ascii_mask = np.ones(n, dtype=bool)
    else:
        ascii_mask = np.array(list(map(str.isascii, texts)), dtype=bool)
    groups = [np.flatnonzero(ascii_mask), np.flatnonzero(~ascii_mask)]
    lengths = np.zeros(n, dtype=np.int64)
    parts, source_starts = [], np.zeros(n, dtype=np.int64)
    base = 0
    for ascii_only, members in zip((True, False), groups, strict=True):
        if not len(members):
            continue
        flat_all = _token_hashes([texts[i] for i in members], ascii_only=ascii_only)
        is_word = flat_all != 0
        # words before each separator = where each text's words end
        ends = np.empty(len(members), dtype=np.int64)
        ends[:-1] = np.flatnonzero(~is_word) - np.arange(len(members) - 1)
        ends[-1] = int(is_word.sum())
        group_lengths = np.diff(ends, prepend=0)
        lengths[members] = group_lengths
        source_starts[members] = base + ends - group_lengths
        parts.append(flat_all[is_word])
        base += int(ends[-1])
    if len(parts) == 1:  # one kind of text: already in order
        return parts[0], lengths
    if not parts:
        return np.zeros(0, dtype=np.uint64), lengths
    source = np.concatenate(parts)
    target_starts = np.cumsum(lengths) - lengths
    gather = np.repeat(source_starts - target_starts, lengths) + np.arange(int(lengths.sum()))
    return source[gather], lengths


def _fmix64(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def shingle_hashes(texts: Sequence[str], shingle_size: int) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every text's word shingles, concatenated, and where each text's start.

    The texts are split into words in two passes, the ASCII ones together (bytes translate and
    split) and the others together (NFKC, casefold, regex), texts joined by a separator that is never
    part of a word; each distinct word is hashed once (SHA-1, cached) and shingles are combined from
    word hashes with numpy. A text shorter than the shingle size is one shingle of
    all its words; an empty text has none. Returns (hashes, offsets), len(offsets) == len(texts) + 1.
    """
    n = len(texts)
    if _SEPARATOR in "".join(texts):
        texts = [t.replace(_SEPARATOR, " ") for t in texts]
    flat, lengths = _word_hashes_and_lengths(texts)
    word_starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=word_starts[1:])
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
    minimum is a contiguous reduce; the block is computed in place in one buffer small enough to stay
    in the CPU cache (a block of 100,000 shingles, 50 MB, was three times slower). An empty text gets
    the empty signature (all values at their maximum), as datasketch's.
    """
    a, b = _permutations(num_perm)
    a, b = a[:, None], b[:, None]
    n = len(offsets) - 1
    out = np.full((n, num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
    nonempty = np.flatnonzero(offsets[1:] > offsets[:-1])
    if not len(nonempty):
        return out
    values = _fmix32(minhash_input(hashes))
    ends = offsets[nonempty + 1]
    buffer = np.empty((num_perm, BLOCK), dtype=np.uint32)
    start = 0
    while start < len(nonempty):
        # as many whole texts as fit in one block (at least one)
        base = offsets[nonempty[start]]
        stop = max(int(np.searchsorted(ends, base + BLOCK, side="right")), start + 1)
        docs = nonempty[start:stop]
        block = values[base : ends[stop - 1]]
        permuted = (
            buffer[:, : len(block)] if len(block) <= BLOCK else np.empty((num_perm, len(block)), np.uint32)
        )
        np.multiply(a, block[None, :], out=permuted)  # uint32 arithmetic wraps: datasketch's mod 2^32
        permuted += b
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
    A text with the same shingles as an earlier one (a copy, up to case and punctuation) is paired with
    the first of them only: not with the other copies, nor with the first one's other near-duplicates,
    which are the copy's too.
    """
    return [(i, j) for i, j, _ in near_duplicate_pairs(texts, threshold, config=config)]


def near_duplicate_pairs(
    texts: Sequence[str], threshold: float = 0.8, *, config: DedupConfig | None = None
) -> list[tuple[int, int, float]]:
    """As find_near_duplicates, with each pair's exact Jaccard similarity (1.0 for a copy)."""
    base = config or configured()
    config = DedupConfig(threshold=threshold, shingle_size=base.shingle_size, num_perm=base.num_perm)
    chunks, sigs, nonempty = _hash_and_sign(texts, config)
    sets: dict[int, set[int]] = {}

    def shingles(i: int) -> set[int]:  # Python sets: a pair of 50-shingle sets in a microsecond
        hashes, offsets = chunks[i // TEXT_CHUNK]
        k = i % TEXT_CHUNK
        return set(hashes[offsets[k] : offsets[k + 1]].tolist())

    def shingle_set(i: int) -> set[int]:
        if i not in sets:
            sets[i] = shingles(i)
        return sets[i]

    # Thousands of copies of one text would share every bucket, and their pairs grow as their square:
    # each copy is paired with the first text only, and only the first one goes on to the banding.
    copies = [
        (i, j) for i, j in identical_signatures(sigs, nonempty).tolist() if shingle_set(i) == shingles(j)
    ]
    banded = nonempty.copy()
    banded[[j for _, j in copies]] = False
    pairs = [(i, j, 1.0) for i, j in copies]
    for i, j in candidate_pairs(sigs, config.bands, nonempty=banded).tolist():
        a, b = shingle_set(i), shingle_set(j)
        shared = len(a & b)
        similarity = shared / (len(a) + len(b) - shared) if a and b else 0.0
        if similarity >= threshold:
            pairs.append((i, j, similarity))
    if copies:
        pairs.sort()
    return pairs


# Texts hashed and signed at a time: keeps the token lists and shingle arrays small enough to stay
# in cache (one pass over a whole 100,000-text corpus was several times slower per text).
TEXT_CHUNK = 5_000


def _hash_and_sign(
    texts: Sequence[str], config: DedupConfig
) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray, np.ndarray]:
    """Each chunk's (shingle hashes, offsets), every text's signature, and which texts have shingles.

    The chunks' hashes stay apart (never concatenated: that would hold them twice at the peak), and
    the signatures are written into one array allocated up front.
    """
    sigs = np.empty((len(texts), config.num_perm), dtype=np.uint32)
    nonempty = np.zeros(len(texts), dtype=bool)
    chunks = []
    for start in range(0, len(texts), TEXT_CHUNK):
        hashes, offsets = shingle_hashes(texts[start : start + TEXT_CHUNK], config.shingle_size)
        stop = start + len(offsets) - 1
        sigs[start:stop] = signatures(hashes, offsets, config.num_perm)
        nonempty[start:stop] = offsets[1:] > offsets[:-1]
        chunks.append((hashes, offsets))
    return chunks, sigs, nonempty


_BAND_MIX = np.random.RandomState(SEED).randint(1, 2**62, size=512, dtype=np.uint64) | np.uint64(1)


# Signature values folded into the key that groups texts which may be copies of each other: enough
# that unrelated texts almost never share it (whole signatures are compared after).
_COPY_KEY_VALUES = 16


def identical_signatures(sigs: np.ndarray, nonempty: Sequence[bool]) -> np.ndarray:
    """Pairs (first, later) of rows with the same signature, each later row with the first row of its
    signature (rows x 2, first < later), by one sort of a key folded from a few values.

    Equal signatures do not prove equal shingles (at Jaccard 0.99 a quarter of pairs have them): the
    caller compares the shingles before taking a row as a copy.
    """
    ids = np.flatnonzero(np.asarray(nonempty, dtype=bool))
    if len(ids) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    values = sigs[ids, : min(_COPY_KEY_VALUES, sigs.shape[1])]
    key = np.zeros(len(ids), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for c in range(values.shape[1]):
            key += values[:, c].astype(np.uint64) * _BAND_MIX[c]
    order = np.argsort(key, kind="stable")  # stable: within a key, rows in their order, the first first
    ordered = key[order]
    starts = np.flatnonzero(np.append(True, ordered[1:] != ordered[:-1]))
    first = np.repeat(order[starts], np.diff(np.append(starts, len(order))))
    later = first != order
    a, b = ids[first[later]], ids[order[later]]
    same = (sigs[a] == sigs[b]).all(axis=1)
    return np.stack((a[same], b[same]), axis=1).astype(np.int64)


def candidate_pairs(sigs: np.ndarray, bands: tuple[int, int], *, nonempty: Sequence[bool]) -> np.ndarray:
    """Pairs of rows sharing at least one band (rows x 2, each i < j, sorted, unique): MinHashLSH's
    banding, done as one sort per band.

    Each band's rows are folded into one 64-bit key, a sum of the values times random odd
    multipliers (a collision only adds a pair that the exact Jaccard check then drops); rows with
    equal keys form a bucket, and every two members of a bucket are a pair.
    """
    n_bands, rows = bands
    ids = np.flatnonzero(np.asarray(nonempty, dtype=bool))
    if len(ids) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    if len(ids) == len(sigs):
        ids = None  # every row: no copy of the signatures
    n = len(sigs)
    found = []
    with np.errstate(over="ignore"):
        for band in range(n_bands):
            key = np.zeros(n if ids is None else len(ids), dtype=np.uint64)
            for r in range(rows):
                column = sigs[:, band * rows + r] if ids is None else sigs[ids, band * rows + r]
                key += column.astype(np.uint64) * _BAND_MIX[r]
            order = np.argsort(key)
            ordered = key[order]
            same = ordered[1:] == ordered[:-1]
            if not same.any():
                continue
            members = order if ids is None else ids[order]  # the rows, bucket by bucket
            # each position pairs with every later position of its bucket (bucket ends: key changes)
            bucket_end = np.append(np.flatnonzero(~same) + 1, len(ordered))
            end_of = np.repeat(bucket_end, np.diff(bucket_end, prepend=0))
            later = end_of - np.arange(len(end_of)) - 1
            owners = np.flatnonzero(later)
            counts = later[owners]
            first = np.repeat(owners, counts)
            step = np.arange(len(first)) - np.repeat(np.cumsum(counts) - counts, counts)
            a, b = members[first], members[first + 1 + step]
            found.append(np.minimum(a, b).astype(np.int64) * n + np.maximum(a, b))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    codes = np.unique(np.concatenate(found))
    return np.stack((codes // n, codes % n), axis=1)


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
