"""Agreement benchmarks: alpha from raw ratings vs the krippendorff package, and the report on 100,000 items.

    .venv/bin/python bench/agreement.py                  # both parts, full size
    .venv/bin/python bench/agreement.py --raw-only       # alpha from raw ratings only (no PostgreSQL)
    .venv/bin/python bench/agreement.py --units 10000 --items 5000   # a quick look

Alpha from raw ratings (needs the `bench` extra: pip install -e '.[bench]'):
1. Makes 100,000 units x 3 coders of ratings 1-5 (each coder gives the unit's own value 80% of the time,
   5% of ratings missing, NaN), one float array that both implementations read as given.
2. Times review.agreement.krippendorff_alpha and krippendorff.alpha on that array at every level of
   measurement (nominal, ordinal, interval, ratio), alternating, best of five each.
3. Prints each level's times and their ratio, and checks both give the same alpha to 1e-12.

The agreement report (PostgreSQL):
1. Starts a throwaway PostgreSQL server (tests/postgres_plugin.py's class), migrates, COPY-loads the
   candidates, then INSERT ... SELECT gives each item two reviewers out of 20 (decisions that agree
   about 80% of the time, times per decision) and an adjudication where they disagree.
2. Times review.agreement_report.agreement_report (the dashboard's and the command's report, bootstrap
   intervals included) cold and warm.
3. Times the baseline in the same process: decision objects loaded through the ORM (prefetched per
   item, not one query each), every figure computed per item in Python, then the same statistics.
4. Checks both give the same numbers, and prints the ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _load import BenchPostgres, insert_select, load_candidates, make_reviewers, setup_django

REVIEWERS = 20


def _verdict(seed_sql: str) -> str:
    """A verdict from a deterministic hash of an integer expression: 70% accept, 10% edit, 20% reject."""
    h = f"((({seed_sql}) * 2654435761) % 1000)"
    return f"CASE WHEN {h} < 700 THEN 'accept' WHEN {h} < 800 THEN 'edit' ELSE 'reject' END"


def load(items: int) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from review.models import Adjudication, Assignment, Decision, ItemRevision, ReviewItem
    from synth.demo_data import load_demo_data

    call_command("migrate", verbosity=0)
    load_demo_data(with_users=False)
    reviewers = make_reviewers(REVIEWERS)
    first = reviewers[0].pk
    senior = get_user_model().objects.create(username="senior", password="!")  # noqa: S106 (unusable password)
    started = time.perf_counter()
    run, batch = load_candidates(items)
    insert_select(
        ReviewItem,
        {
            "candidate_id": "c.id",
            "batch_id": str(batch.pk),
            "required_reviews": "2",
            "status": "'pending'",
            "created_at": "now()",
        },
        f"FROM synth_candidate c WHERE c.run_id = {run.pk} ORDER BY c.id",
        [],
    )
    # Two different reviewers per item, spread over the 20.
    second = f"{first} + ((i.id % {REVIEWERS}) + 1 + (i.id / {REVIEWERS}) % {REVIEWERS - 1}) % {REVIEWERS}"
    for reviewer_sql in (f"{first} + i.id % {REVIEWERS}", second):
        insert_select(
            Assignment,
            {
                "item_id": "i.id",
                "reviewer_id": reviewer_sql,
                "status": "'submitted'",
                "claimed_at": "now()",
                "lease_expires_at": "now()",
            },
            "FROM review_reviewitem i ORDER BY i.id",
            [],
        )

    # The first reviewer's verdict hashes the item; the second agrees 80% of the time.
    def verdict(t: str) -> str:
        first_verdict = _verdict(f"{t}.item_id")
        second_verdict = f"CASE WHEN ({t}.item_id * 7) % 10 < 8 THEN {first_verdict} ELSE {_verdict(f'{t}.item_id + 7919')} END"
        return f"CASE WHEN {t}.reviewer_id = {first} + {t}.item_id % {REVIEWERS} THEN {first_verdict} ELSE {second_verdict} END"

    # An edit needs its revision (a database constraint): store edits as accepts, add the revisions,
    # then turn them into edits pointing at their revision.
    insert_select(
        Decision,
        {
            "assignment_id": "a.id",
            "item_id": "a.item_id",
            "reviewer_id": "a.reviewer_id",
            "verdict": f"CASE WHEN ({verdict('a')}) = 'edit' THEN 'accept' ELSE ({verdict('a')}) END",
            "seconds_spent": "5 + (a.id * 13) % 300",
            "created_at": "now() - ((a.item_id % 60) * interval '1 day')",
        },
        "FROM review_assignment a ORDER BY a.id",
        [],
    )
    insert_select(
        ItemRevision,
        {
            "item_id": "d.item_id",
            "number": "d.id",
            "based_on": "0",
            "instruction": "'edited'",
            "input": "''",
            "output": "'edited answer'",
            "author_id": "d.reviewer_id",
            "created_at": "now()",
        },
        f"FROM review_decision d WHERE ({verdict('d')}) = 'edit'",
        [],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE review_decision d SET verdict = 'edit', revision_id = r.id FROM review_itemrevision r "
            "WHERE r.item_id = d.item_id AND r.number = d.id"
        )
    insert_select(
        Adjudication,
        {
            "item_id": "x.item_id",
            "adjudicator_id": str(senior.pk),
            "verdict": "'accept'",
            "created_at": "now()",
        },
        "FROM (SELECT item_id FROM review_decision GROUP BY item_id "
        "HAVING MIN(CASE WHEN verdict = 'reject' THEN 1 ELSE 0 END) <> MAX(CASE WHEN verdict = 'reject' THEN 1 ELSE 0 END)) x",
        [],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE review_reviewitem SET status = 'decided', final_verdict = 'accept', decided_at = now()"
        )
        cursor.execute("ANALYZE")
    print(
        f"Loaded {items:,} items with {Decision.objects.count():,} decisions and "
        f"{Adjudication.objects.count():,} adjudications in {time.perf_counter() - started:.1f} s"
    )


def baseline() -> dict:
    """The same figures from decision objects loaded through the ORM, computed item by item in Python."""
    from django.contrib.auth import get_user_model

    from review.agreement import kappa_from_table
    from review.agreement_report import VERDICTS, Profiles, _median, _number, _week
    from review.models import ReviewItem

    overall, by_domain, by_technique, by_week = (
        Profiles(),
        defaultdict(Profiles),
        defaultdict(Profiles),
        defaultdict(Profiles),
    )
    tables: dict = defaultdict(lambda: [[0] * 3 for _ in range(3)])
    verdicts: dict = defaultdict(lambda: dict.fromkeys(VERDICTS, 0))
    seconds: dict = defaultdict(list)
    adjudicated: dict = defaultdict(lambda: [0, 0])
    queryset = ReviewItem.objects.select_related("candidate__domain").prefetch_related(
        "decisions", "adjudications"
    )
    for item in queryset.iterator(chunk_size=2000):
        decisions = list(item.decisions.all())
        for d in decisions:
            verdicts[d.reviewer_id][d.verdict] += 1
            if d.seconds_spent is not None:
                seconds[d.reviewer_id].append(d.seconds_spent)
        adjudications = sorted(item.adjudications.all(), key=lambda a: a.pk)
        if adjudications:
            ruling = adjudications[-1].verdict == "reject"
            for d in decisions:
                adjudicated[d.reviewer_id][0 if (d.verdict == "reject") == ruling else 1] += 1
        for a in decisions:
            for b in decisions:
                if a.reviewer_id < b.reviewer_id:
                    tables[(a.reviewer_id, b.reviewer_id)][VERDICTS.index(a.verdict)][
                        VERDICTS.index(b.verdict)
                    ] += 1
        if len(decisions) < 2:
            continue
        rejecting = sum(d.verdict == "reject" for d in decisions)
        pattern = (len(decisions) - rejecting, rejecting)
        domain = item.candidate.domain.name if item.candidate.domain else "(no domain)"
        for profiles in (overall, by_domain[domain], by_technique[item.candidate.technique]):
            profiles.add(*pattern, 1)
        by_week[_week(max(d.created_at for d in decisions).date())].add(*pattern, 1)
    names = dict(get_user_model().objects.values_list("pk", "username"))
    pairs = []
    for (a, b), t in sorted(tables.items()):
        binary = [
            [sum(t[i][j] for i in (0, 1) for j in (0, 1)), t[0][2] + t[1][2]],
            [t[2][0] + t[2][1], t[2][2]],
        ]
        pairs.append({"pair": (names[a], names[b]), "kappa": _number(kappa_from_table(binary))})
    reviewers = {
        names[r]: {
            "items": sum(v.values()),
            "median_seconds": _median(dict(zip(*_histogram(seconds[r]), strict=True))),
            "agreement_with_adjudication": _number(adjudicated[r][0] / sum(adjudicated[r]))
            if sum(adjudicated[r])
            else None,
        }
        for r, v in verdicts.items()
    }
    return {
        "overall": overall.summary(),
        "by_domain": {k: v.summary() for k, v in sorted(by_domain.items())},
        "by_technique": {k: v.summary() for k, v in sorted(by_technique.items())},
        "over_time": [{"week": k, **v.summary(with_interval=False)} for k, v in sorted(by_week.items())],
        "pairs": pairs,
        "reviewers": reviewers,
    }


def _histogram(values: list[int]) -> tuple[list[int], list[int]]:
    counts: dict[int, int] = defaultdict(int)
    for v in values:
        counts[v] += 1
    return list(counts), list(counts.values())


def raw_ratings(units: int, coders: int, seed: int = 0):
    """Coders x units ratings 1-5: the unit's own value 80% of the time, 5% missing (NaN)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, 6, size=units)
    ratings = np.where(
        rng.random((coders, units)) < 0.8, truth, rng.integers(1, 6, size=(coders, units))
    ).astype(float)
    ratings[rng.random(ratings.shape) < 0.05] = np.nan
    return ratings


def compare_raw_ratings(units: int, coders: int, repeats: int = 5) -> bool:
    """Times ours and the krippendorff package on the same ratings at every level; True if all agree."""
    try:
        import krippendorff
    except ImportError:
        sys.exit("The krippendorff package is missing: pip install -e '.[bench]'")
    from importlib.metadata import version

    from review.agreement import LEVELS, krippendorff_alpha

    ratings = raw_ratings(units, coders)
    print(
        f"Alpha from raw ratings: {units:,} units x {coders} coders, {np.count_nonzero(~np.isnan(ratings)):,} "
        f"ratings (krippendorff {version('krippendorff')}, best of {repeats})"
    )
    print(
        f"  {'level':<9} {'ours s':>8} {'package s':>10} {'ours/package':>13}  {'alpha':>18}  same to 1e-12"
    )
    all_same = True
    for level in LEVELS:
        ours, theirs = [], []
        for _ in range(repeats):  # alternating, so both see the same machine load
            started = time.perf_counter()
            ours_alpha = krippendorff_alpha(ratings, level)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            their_alpha = float(krippendorff.alpha(ratings, level_of_measurement=level))
            theirs.append(time.perf_counter() - started)
        same = abs(ours_alpha - their_alpha) <= 1e-12
        all_same &= same
        print(
            f"  {level:<9} {min(ours):8.4f} {min(theirs):10.4f} {min(ours) / min(theirs):12.2f}x  "
            f"{ours_alpha:18.15f}  {'yes' if same else f'NO (package {their_alpha!r})'}"
        )
    return all_same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000, help="reviewed items for the report")
    parser.add_argument("--units", type=int, default=100_000, help="units of raw ratings")
    parser.add_argument("--coders", type=int, default=3, help="coders per unit of raw ratings")
    parser.add_argument("--raw-only", action="store_true", help="alpha from raw ratings only")
    args = parser.parse_args()
    same = compare_raw_ratings(args.units, args.coders)
    if args.raw_only:
        sys.exit(0 if same else 1)
    print()
    server = BenchPostgres()
    server.start()
    try:
        setup_django(server.url)
        from django.db import connection, reset_queries
        from django.test.utils import CaptureQueriesContext

        from review.agreement_report import agreement_report

        load(args.items)
        timings = []
        for _ in range(3):
            reset_queries()
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                report = agreement_report()
            timings.append(time.perf_counter() - started)
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as baseline_queries:
            slow = baseline()
        slow_seconds = time.perf_counter() - started
    finally:
        server.stop()

    fast = min(timings)
    same_overall = slow["overall"] == report["overall"]
    same_domains = slow["by_domain"] == report["by_domain"]
    same_kappas = [p["kappa"] for p in slow["pairs"]] == [p["kappa"] for p in report["pairs"]]
    same_weeks = slow["over_time"] == report["over_time"]
    rows = {r["reviewer"]: r for r in report["reviewers"]}
    same_reviewers = all(
        rows[name]["items"] == r["items"]
        and rows[name]["median_seconds"] == r["median_seconds"]
        and rows[name]["agreement_with_adjudication"] == r["agreement_with_adjudication"]
        for name, r in slow["reviewers"].items()
    )
    print(
        f"\nItems: {report['overall']['items']:,}; overall alpha {report['overall']['alpha']} CI {report['overall']['alpha_ci']}"
    )
    print(
        f"Report from GROUP BY counts: {fast:.3f} s warm (first run {timings[0]:.3f} s), {len(queries)} queries"
    )
    for q in queries.captured_queries:
        print(f"  {float(q['time']):.3f} s  {' '.join(q['sql'].split())[:110]}")
    print(f"Baseline, ORM objects per item: {slow_seconds:.3f} s, {len(baseline_queries)} queries")
    print(f"Ratio: {slow_seconds / fast:.1f}x")
    print(
        "Same numbers: overall "
        f"{same_overall}, domains {same_domains}, pair kappas {same_kappas}, weeks {same_weeks}, reviewers {same_reviewers}"
    )


if __name__ == "__main__":
    main()
