"""The corpus a new candidate is compared with, and its persisted near-duplicate index.

The corpus is every active seed task, every candidate that passed the gate, and every text another
app registers (review registers approved records' revised tasks: synth never imports review).
Preference pairs have a corpus of their own (kind "pair": prompt and both responses): a pair borrows
its prompt from a seed task or a kept candidate, so it is compared with other pairs only, and tasks
are never compared with pairs. Each
corpus text's MinHash signature is stored (MinHashSignature, with its scheme), so a process builds
its MinHashLSH from the database at start and then only adds what is new; with REDIS_URL set the
LSH lives in Redis (datasketch's storage), shared by every worker, and is topped up the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from datasketch import MinHashLSH
from django.conf import settings

from synth.models import Candidate, MinHashSignature, SeedTask
from synth.quality import dedup


def task_text(instruction: str, task_input: str = "") -> str:
    """A record's identity for near-duplicates is its task (instruction and input), as for exact ones."""
    return f"{instruction}\n{task_input}".strip()


def pair_text(instruction: str, task_input: str, output: str, rejected_output: str) -> str:
    """A pair's identity: its prompt and both responses (sorted, so the ranking's order does not count)."""
    return "\n".join([task_text(instruction, task_input), *sorted((output.strip(), rejected_output.strip()))])


def identity_text(candidate: Candidate) -> str:
    if candidate.is_pair:
        return pair_text(candidate.instruction, candidate.input, candidate.output, candidate.rejected_output)
    return task_text(candidate.instruction, candidate.input)


def kind_of(candidate: Candidate) -> str:
    return MinHashSignature.Kind.PAIR if candidate.is_pair else MinHashSignature.Kind.CANDIDATE


@dataclass(frozen=True)
class CorpusSource:
    """One kind of corpus text: `texts(ids)` gives (id, text) for those ids, or for every eligible
    text when ids is None; `eligible(ids, before=candidate)` says which still count as originals."""

    kind: str
    texts: Callable[[Iterable[int] | None], Iterable[tuple[int, str]]]
    eligible: Callable[[set[int], Candidate | None], set[int]]


def _seed_texts(ids):
    qs = SeedTask.objects.filter(is_active=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return ((s.pk, task_text(s.instruction, s.input)) for s in qs.only("pk", "instruction", "input"))


def _candidate_texts(ids):
    qs = Candidate.objects.filter(status=Candidate.Status.PASSED, rejected_output="")
    if ids is not None:
        qs = Candidate.objects.filter(pk__in=list(ids))
    return ((c.pk, task_text(c.instruction, c.input)) for c in qs.only("pk", "instruction", "input"))


def _pair_texts(ids):
    qs = Candidate.objects.filter(status=Candidate.Status.PASSED).exclude(rejected_output="")
    if ids is not None:
        qs = Candidate.objects.filter(pk__in=list(ids))
    fields = ("pk", "instruction", "input", "output", "rejected_output")
    return ((c.pk, identity_text(c)) for c in qs.only(*fields))


def _seed_eligible(ids, candidate):
    return set(SeedTask.objects.filter(pk__in=ids, is_active=True).values_list("pk", flat=True))


def _kept_before(ids, candidate, *, pairs: bool) -> set[int]:
    # An original is a kept candidate made before this one (re-gating never lets a later copy win).
    qs = Candidate.objects.filter(pk__in=ids, status=Candidate.Status.PASSED)
    qs = qs.exclude(rejected_output="") if pairs else qs.filter(rejected_output="")
    if candidate is not None and candidate.pk:
        qs = qs.filter(pk__lt=candidate.pk)
    return set(qs.values_list("pk", flat=True))


def _candidate_eligible(ids, candidate):
    return _kept_before(ids, candidate, pairs=False)


def _pair_eligible(ids, candidate):
    return _kept_before(ids, candidate, pairs=True)


SOURCES: dict[str, CorpusSource] = {
    MinHashSignature.Kind.SEED_TASK: CorpusSource(
        MinHashSignature.Kind.SEED_TASK, _seed_texts, _seed_eligible
    ),
    MinHashSignature.Kind.CANDIDATE: CorpusSource(
        MinHashSignature.Kind.CANDIDATE, _candidate_texts, _candidate_eligible
    ),
    MinHashSignature.Kind.PAIR: CorpusSource(MinHashSignature.Kind.PAIR, _pair_texts, _pair_eligible),
}


def register_source(source: CorpusSource) -> None:
    """Add a kind of corpus text (called from another app's AppConfig.ready)."""
    SOURCES[source.kind] = source


@dataclass(frozen=True)
class Match:
    kind: str
    id: int
    similarity: float


def redis_params(url: str) -> dict:
    """redis.Redis keyword arguments for a URL (datasketch passes its config to redis.Redis)."""
    from redis.connection import SSLConnection, parse_url

    params = parse_url(url)
    if "path" in params:
        params["unix_socket_path"] = params.pop("path")
    if params.pop("connection_class", None) is SSLConnection:
        params["ssl"] = True
    return params


def _key(kind: str, object_id: int) -> str:
    return f"{kind}:{object_id}"


class CorpusIndex:
    """A MinHashLSH over the stored signatures of one scheme, topped up from the database."""

    def __init__(self, config: dedup.DedupConfig, redis_url: str = "") -> None:
        self.config = config
        storage = None
        if redis_url:
            storage = {
                "type": "redis",
                "basename": f"synth-dedup/{config.scheme}/{config.threshold}".encode(),
                "redis": redis_params(redis_url),
            }
        self.storage = storage
        self.lsh: MinHashLSH = dedup.new_lsh(config, storage)
        self.loaded: set[int] = set()
        self.last_signature_id = 0
        self.lock = threading.Lock()

    def refresh(self) -> None:
        """Sign corpus texts that have no signature yet, then index every signature not yet indexed.

        New signatures are read by id; a count check catches ones committed late by another worker
        (ids are handed out before commit), and an emptied table starts the index afresh.
        """
        with self.lock:
            self._sign_missing()
            scheme_rows = MinHashSignature.objects.filter(scheme=self.config.scheme)
            total = scheme_rows.count()
            if total < len(self.loaded):
                self.lsh = dedup.new_lsh(self.config, self.storage)
                self.loaded = set()
                self.last_signature_id = 0
            self._load(scheme_rows.filter(pk__gt=self.last_signature_id))
            if total > len(self.loaded):
                missing = set(scheme_rows.values_list("pk", flat=True)) - self.loaded
                self._load(scheme_rows.filter(pk__in=missing))

    def _load(self, rows) -> None:
        rows = rows.order_by("pk").values_list("pk", "kind", "object_id", "hashvalues")
        with self.lsh.insertion_session() as session:
            for pk, kind, object_id, values in rows.iterator(chunk_size=5000):
                key = _key(kind, object_id)
                if key not in self.lsh:  # another worker may have put it in a shared (Redis) index
                    session.insert(key, dedup.lean_minhash(np.frombuffer(bytes(values), dtype=np.uint32)))
                self.loaded.add(pk)
                self.last_signature_id = max(self.last_signature_id, pk)

    def _sign_missing(self) -> None:
        for kind, source in SOURCES.items():
            signed = MinHashSignature.objects.filter(scheme=self.config.scheme, kind=kind).values_list(
                "object_id", flat=True
            )
            have = set(signed)
            todo = [(i, t) for i, t in source.texts(None) if i not in have]
            for start in range(0, len(todo), 5000):
                chunk = todo[start : start + 5000]
                sigs, _ = dedup.texts_signatures((t for _, t in chunk), self.config)
                MinHashSignature.objects.bulk_create(
                    [
                        MinHashSignature(
                            kind=kind, object_id=i, scheme=self.config.scheme, hashvalues=sig.tobytes()
                        )
                        for (i, _), sig in zip(chunk, sigs, strict=True)
                    ],
                    ignore_conflicts=True,  # a concurrent worker signed it first: same values
                )

    def store(self, kind: str, object_id: int, signature: np.ndarray) -> None:
        """Persist one text's signature (the index picks it up on its next refresh)."""
        MinHashSignature.objects.update_or_create(
            scheme=self.config.scheme,
            kind=kind,
            object_id=object_id,
            defaults={"hashvalues": signature.tobytes()},
        )

    def best_match(
        self, text: str, *, candidate: Candidate | None = None, kinds: Iterable[str] | None = None
    ) -> tuple[Match | None, np.ndarray]:
        """The most similar eligible corpus text at or above the threshold (exact Jaccard), and the
        text's signature. `kinds` limits the corpus (a pair's to pairs; by default, all but pairs)."""
        allowed = set(kinds) if kinds is not None else set(SOURCES) - {MinHashSignature.Kind.PAIR}
        own_kind = kind_of(candidate) if candidate is not None else None
        self.refresh()
        sigs, sets = dedup.texts_signatures([text], self.config)
        signature, shingles = sigs[0], sets[0]
        if not len(shingles):
            return None, signature
        keys = self.lsh.query(dedup.lean_minhash(signature))
        by_kind: dict[str, set[int]] = {}
        for key in keys:
            kind, _, object_id = str(key).partition(":")
            if kind not in allowed or (kind == own_kind and int(object_id) == candidate.pk):
                continue
            by_kind.setdefault(kind, set()).add(int(object_id))
        best: Match | None = None
        for kind, ids in by_kind.items():
            source = SOURCES.get(kind)
            if source is None:
                continue
            eligible = source.eligible(ids, candidate)
            for object_id, other in source.texts(eligible):
                _, other_sets = dedup.texts_signatures([other], self.config)
                similarity = dedup.jaccard(shingles, other_sets[0])
                if similarity >= self.config.threshold and (best is None or similarity > best.similarity):
                    best = Match(kind, object_id, similarity)
        return best, signature


_indexes: dict[tuple[str, float, str], CorpusIndex] = {}
_indexes_lock = threading.Lock()


def corpus_index(config: dedup.DedupConfig | None = None) -> CorpusIndex:
    """This process's index for the configured scheme (one per scheme, threshold and storage)."""
    config = config or dedup.configured()
    key = (config.scheme, config.threshold, settings.REDIS_URL)
    with _indexes_lock:
        if key not in _indexes:
            _indexes[key] = CorpusIndex(config, settings.REDIS_URL)
        return _indexes[key]


def reset_indexes() -> None:
    """Forget the in-process indexes (tests; a database that was emptied under us)."""
    with _indexes_lock:
        _indexes.clear()
