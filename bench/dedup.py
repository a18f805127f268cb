"""Near-duplicate benchmark: the project's bulk MinHash + banded LSH against naive datasketch use.

    .venv/bin/python bench/dedup.py                  # 100,000 records (a few minutes)
    .venv/bin/python bench/dedup.py --records 10000  # a quick look
    .venv/bin/python bench/dedup.py --skip-baseline  # the project only (both cases below)

Records are synthetic clinical-sounding texts (words drawn from ICD-10-CM descriptions) with planted
near-duplicate clusters: each cluster's members are copies of one base text with a few words
replaced, so their Jaccard similarities spread around the 0.8 threshold. Ground truth is the exact
Jaccard similarity of the word-shingle sets: of every pair inside a cluster, and of every pair either
method reports (unrelated random texts share essentially no 3-word shingle, and any that a method
finds is checked exactly, so a true pair outside the clusters would still count).

Baseline: what the datasketch README shows: one `MinHash.update` per shingle, one `MinHashLSH.insert`
at a time with datasketch's automatic bands and rows for the threshold, then a query per record,
keeping pairs whose estimated Jaccard reaches the threshold. Both run in this process, one after
the other, timed by the wall clock and by CPU time (the steadier figure when the machine is shared);
peak memory is measured by tracemalloc in a second pass of each, after the timings.

Many identical texts (issue 16): the project again on a second corpus of the same size, a tenth of it
(`--identical`) copies of one text at random places among distinct records made as above, against the
first corpus, both timed twice alternately (best of each), after the runs above so that both find the
word hashes cached. The copies must not cost more than 1.5x the distinct corpus's time; each copy must
be reported as a duplicate of the first copy (and not paired with the other copies), and recall and
precision must stay those of the distinct corpus.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc
from functools import cache
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from datasketch import MinHash, MinHashLSH

from synth.quality import dedup


@cache
def vocabulary() -> list[str]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import simple_icd_10_cm as icd
    found = set()
    for code in icd.get_all_codes(False)[:20000]:
        found.update(dedup.words(icd.get_description(code)))
    return sorted(found)


def make_records(n: int, *, seed: int = 7) -> tuple[list[str], list[list[int]]]:
    """n texts, about 15 % of them in planted clusters of 2 to 6 near-copies."""
    rng = random.Random(seed)
    vocab = vocabulary()
    texts: list[str] = []
    clusters: list[list[int]] = []
    while len(texts) < n:
        base = rng.choices(vocab, k=rng.randint(35, 60))
        if rng.random() < 0.05:
            members = [len(texts)]
            texts.append(" ".join(base))
            for _ in range(rng.randint(1, 5)):
                if len(texts) >= n:
                    break
                copy = list(base)
                for _ in range(rng.choice([1, 1, 2, 2, 3, 4])):
                    copy[rng.randrange(len(copy))] = rng.choice(vocab)
                members.append(len(texts))
                texts.append(" ".join(copy))
            clusters.append(members)
        else:
            texts.append(" ".join(base))
    return texts[:n], clusters


def make_records_with_copies(
    n: int, identical: int, *, seed: int = 11
) -> tuple[list[str], list[list[int]], list[int]]:
    """n texts: `identical` copies of one new text at random places among n - identical records of
    make_records (their clusters' members moved to their new places); returns the copies' places too."""
    distinct, clusters = make_records(n - identical)
    rng = random.Random(seed)
    copy_at = sorted(rng.sample(range(n), identical))
    copy_text = " ".join(rng.choices(vocabulary(), k=48))
    taken = set(copy_at)
    others = [i for i in range(n) if i not in taken]
    texts = [copy_text] * n
    for place, text in zip(others, distinct, strict=True):
        texts[place] = text
    return texts, [[others[i] for i in members] for members in clusters], copy_at


def exact_jaccard(texts: list[str], i: int, j: int, k: int, cache: dict[int, set[str]]) -> float:
    def shingles(x: int) -> set[str]:
        if x not in cache:
            w = dedup.words(texts[x])
            cache[x] = {" ".join(w[p : p + k]) for p in range(max(len(w) - k + 1, 1))} if w else set()
        return cache[x]

    a, b = shingles(i), shingles(j)
    return len(a & b) / len(a | b) if a and b else 0.0


def naive(texts: list[str], threshold: float, k: int, num_perm: int) -> set[tuple[int, int]]:
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    minhashes = []
    for i, text in enumerate(texts):
        w = dedup.words(text)
        m = MinHash(num_perm=num_perm)
        for p in range(max(len(w) - k + 1, 1)):
            m.update(" ".join(w[p : p + k]).encode())
        lsh.insert(i, m)
        minhashes.append(m)
    pairs = set()
    for i, m in enumerate(minhashes):
        for j in lsh.query(m):
            if j != i and m.jaccard(minhashes[j]) >= threshold:
                pairs.add((min(i, j), max(i, j)))
    return pairs


def project(texts: list[str], threshold: float, k: int, num_perm: int) -> set[tuple[int, int]]:
    config = dedup.DedupConfig(threshold=threshold, shingle_size=k, num_perm=num_perm)
    return set(dedup.find_near_duplicates(texts, threshold, config=config))


def timed(fn, *args) -> tuple[set[tuple[int, int]], float, float]:
    """The result, wall-clock seconds and CPU seconds (on a shared machine the CPU time is the steadier)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    result = fn(*args)
    return result, time.perf_counter() - started, time.process_time() - cpu_started


def peak_mb(fn, *args) -> float:
    tracemalloc.start()
    fn(*args)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def ground_truth(
    texts: list[str],
    clusters: list[list[int]],
    found: list[set[tuple[int, int]]],
    t: float,
    k: int,
    copies: list[int] | None = None,
) -> set[tuple[int, int]]:
    """Pairs at or above the threshold: inside the planted clusters, each copy with the first copy, and
    any pair a method reported whose exact Jaccard reaches it."""
    cache: dict[int, set[str]] = {}
    truth = {
        (i, j)
        for members in clusters
        for x, i in enumerate(members)
        for j in members[x + 1 :]
        if exact_jaccard(texts, i, j, k, cache) >= t
    }
    if copies:
        truth |= {(copies[0], c) for c in copies[1:]}
    truth |= {pair for pairs in found for pair in pairs if exact_jaccard(texts, *pair, k, cache) >= t}
    return truth


def quality(found: set[tuple[int, int]], truth: set[tuple[int, int]]) -> tuple[float, float]:
    """(recall, precision)."""
    hits = len(found & truth)
    return hits / len(truth) if truth else 1.0, hits / len(found) if found else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--identical", type=int, help="copies of one text in the second case (a tenth)")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--shingle-size", type=int, default=3)
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    parser.add_argument("--skip-baseline", action="store_true", help="the project only")
    args = parser.parse_args()
    t, k, p = args.threshold, args.shingle_size, args.num_perm
    identical = args.records // 10 if args.identical is None else args.identical

    texts, clusters = make_records(args.records)
    print(
        f"{len(texts):,} records, {len(clusters):,} planted clusters, threshold {t}, word {k}-shingles, {p} permutations"
    )
    bands, rows = dedup.lsh_params(t, p)
    auto = MinHashLSH(threshold=t, num_perm=p)
    print(
        f"LSH bands x rows: project {bands} x {rows} (chosen for recall), baseline {auto.b} x {auto.r} (datasketch's choice)"
    )

    ours, ours_s, ours_cpu = timed(project, texts, t, k, p)
    methods = [("project", ours, ours_s, ours_cpu)]
    if not args.skip_baseline:
        methods.append(("baseline", *timed(naive, texts, t, k, p)))

    truth = ground_truth(texts, clusters, [found for _, found, _, _ in methods], t, k)
    cache: dict[int, set[str]] = {}
    near = [
        exact_jaccard(texts, i, j, k, cache)
        for members in clusters
        for x, i in enumerate(members)
        for j in members[x + 1 :]
    ]
    print(
        f"ground truth: {len(truth):,} pairs at or above {t} (cluster pairs' Jaccard: median {np.median(near):.2f}, "
        f"{sum(t - 0.05 <= s < t for s in near):,} just below, {sum(t <= s < t + 0.05 for s in near):,} just above)"
    )

    rows_out = []
    for name, found, seconds, cpu in methods:
        recall, precision = quality(found, truth)
        rows_out.append(
            (name, seconds, len(texts) / seconds, cpu, len(texts) / cpu, recall, precision, len(found))
        )
    print()
    print(
        f"{'method':<9} {'seconds':>8} {'records/s':>10} {'CPU s':>7} {'rec/CPU s':>10} "
        f"{'recall':>7} {'precision':>9} {'pairs':>7}"
    )
    for name, seconds, rate, cpu, cpu_rate, recall, precision, found in rows_out:
        print(
            f"{name:<9} {seconds:8.2f} {rate:10,.0f} {cpu:7.2f} {cpu_rate:10,.0f} "
            f"{recall:7.3f} {precision:9.3f} {found:7,}"
        )
    if len(rows_out) > 1:
        print(
            f"\nspeed ratio (project / baseline): {rows_out[0][2] / rows_out[1][2]:.1f}x wall-clock, "
            f"{rows_out[0][4] / rows_out[1][4]:.1f}x CPU time",
            flush=True,
        )

    many_identical(texts, truth, args.records, identical, t, k, p)

    if not args.no_memory:  # a second pass of each under tracemalloc (slow for the baseline)
        print(f"\npeak memory (tracemalloc): project {peak_mb(project, texts, t, k, p):.0f} MB", flush=True)
        if not args.skip_baseline:
            print(f"peak memory (tracemalloc): baseline {peak_mb(naive, texts, t, k, p):.0f} MB", flush=True)


def many_identical(
    distinct: list[str],
    distinct_truth: set[tuple[int, int]],
    n: int,
    identical: int,
    t: float,
    k: int,
    p: int,
) -> None:
    """The project on n records of which `identical` are copies of one text, against n distinct records."""
    texts, clusters, copies = make_records_with_copies(n, identical)
    print(
        f"\nMany identical texts: {identical:,} copies of one text among {n - identical:,} distinct records, "
        f"against the {n:,} distinct records above (the project, best of 2 each, alternating)"
    )
    runs: dict[str, list[tuple[set[tuple[int, int]], float, float]]] = {"copies": [], "distinct": []}
    for _ in range(2):
        runs["copies"].append(timed(project, texts, t, k, p))
        runs["distinct"].append(timed(project, distinct, t, k, p))
    found_copies, found_distinct = runs["copies"][0][0], runs["distinct"][0][0]
    truth = ground_truth(texts, clusters, [found_copies], t, k, copies)
    truth_distinct = distinct_truth | ground_truth(distinct, [], [found_distinct], t, k)
    print(f"{'case':<22} {'seconds':>8} {'CPU s':>7} {'recall':>7} {'precision':>9} {'pairs':>7}")
    best = {}
    for name, found, case_truth in (
        ("copies + distinct", found_copies, truth),
        ("distinct only", found_distinct, truth_distinct),
    ):
        key = "copies" if name.startswith("copies") else "distinct"
        seconds = min(r[1] for r in runs[key])
        cpu = min(r[2] for r in runs[key])
        best[key] = (seconds, cpu)
        recall, precision = quality(found, case_truth)
        print(f"{name:<22} {seconds:8.2f} {cpu:7.2f} {recall:7.3f} {precision:9.3f} {len(found):7,}")
    print(
        f"time ratio (copies / distinct): {best['copies'][0] / best['distinct'][0]:.2f}x wall-clock, "
        f"{best['copies'][1] / best['distinct'][1]:.2f}x CPU time (goal: at most 1.5x)"
    )
    copy_set = set(copies)
    with_first = sum((copies[0], c) in found_copies for c in copies[1:])
    between = sum(i in copy_set and j in copy_set and i != copies[0] for i, j in found_copies)
    print(
        f"copies reported as duplicates of the first copy: {with_first:,} of {len(copies) - 1:,}; "
        f"pairs of two later copies: {between:,}",
        flush=True,
    )


if __name__ == "__main__":
    main()
