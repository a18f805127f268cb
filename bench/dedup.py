"""Near-duplicate benchmark: the project's bulk MinHash + banded LSH against naive datasketch use.

    .venv/bin/python bench/dedup.py                 # 100,000 records (a few minutes)
    .venv/bin/python bench/dedup.py --records 10000 # a quick look

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
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from datasketch import MinHash, MinHashLSH

from synth.quality import dedup


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--shingle-size", type=int, default=3)
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    args = parser.parse_args()
    t, k, p = args.threshold, args.shingle_size, args.num_perm

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
    base, base_s, base_cpu = timed(naive, texts, t, k, p)

    cache: dict[int, set[str]] = {}
    truth = {
        (i, j)
        for members in clusters
        for x, i in enumerate(members)
        for j in members[x + 1 :]
        if exact_jaccard(texts, i, j, k, cache) >= t
    }
    truth |= {pair for pair in ours | base if exact_jaccard(texts, *pair, k, cache) >= t}
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

    def quality(found: set[tuple[int, int]]) -> tuple[float, float]:
        hits = len(found & truth)
        return hits / len(truth) if truth else 1.0, hits / len(found) if found else 1.0

    rows_out = []
    for name, found, seconds, cpu in (
        ("project", ours, ours_s, ours_cpu),
        ("baseline", base, base_s, base_cpu),
    ):
        recall, precision = quality(found)
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
    print(
        f"\nspeed ratio (project / baseline): {rows_out[0][2] / rows_out[1][2]:.1f}x wall-clock, "
        f"{rows_out[0][4] / rows_out[1][4]:.1f}x CPU time",
        flush=True,
    )
    if not args.no_memory:  # a second pass of each under tracemalloc (slow for the baseline)
        print(f"peak memory (tracemalloc): project {peak_mb(project, texts, t, k, p):.0f} MB", flush=True)
        print(f"peak memory (tracemalloc): baseline {peak_mb(naive, texts, t, k, p):.0f} MB", flush=True)


if __name__ == "__main__":
    main()
