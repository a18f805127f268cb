"""Export throughput and memory: 1,000,000 approved records on PostgreSQL, against a naive ORM baseline.

    .venv/bin/python bench/export.py                                  # the full run
    .venv/bin/python bench/export.py --records 20000 --baseline-records 20000   # a quick look

1. Starts a throwaway PostgreSQL server (tests/postgres_plugin.py's class), migrates, and COPY-loads the
   candidates; approved review items, assignments and decisions follow by INSERT ... SELECT.
2. Each measurement runs in a fresh child process on that database, so its peak RSS is its own:
   - the export as the product runs it (review.exports.build.build_export): SFT messages as JSON
     Lines and Parquet, and CSV (Alpaca columns), from one streamed values_list() query read in
     pages plus one query per page for the reviews;
   - the naive baseline: the ORM loads every approved item as model instances (with its candidate,
     domain, revision and decisions), then json.dumps each record into a file.
3. Prints records/s, peak RSS and the ratios.

The candidates carry the PHI stamp the quality gate gives texts it screened free of PHI, as every
candidate that reached review does, so the export's last gate trusts it; `--unstamped` loads them
without it, and the export screens every record's texts (the worst case: the screen changed since).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _load import (
    ROOT,
    BenchPostgres,
    insert_select,
    load_candidates,
    make_reviewers,
    peak_rss_mb,
    setup_django,
)


def load(records: int, *, gated: bool = True) -> None:
    from django.core.management import call_command

    from review.models import Assignment, Decision, ReviewItem
    from synth.demo_data import load_demo_data

    call_command("migrate", verbosity=0)
    load_demo_data(with_users=False)
    (reviewer,) = make_reviewers(1)
    started = time.perf_counter()
    run, batch = load_candidates(records, gated=gated)
    insert_select(
        ReviewItem,
        {
            "candidate_id": "c.id",
            "batch_id": str(batch.pk),
            "required_reviews": "1",
            "status": "'decided'",
            "final_verdict": "'accept'",
            "decided_at": "now()",
            "created_at": "now()",
        },
        f"FROM synth_candidate c WHERE c.run_id = {run.pk} ORDER BY c.id",
        [],
    )
    insert_select(
        Assignment,
        {
            "item_id": "i.id",
            "reviewer_id": str(reviewer.pk),
            "status": "'submitted'",
            "claimed_at": "now()",
            "lease_expires_at": "now()",
        },
        "FROM review_reviewitem i ORDER BY i.id",
        [],
    )
    insert_select(
        Decision,
        {
            "assignment_id": "a.id",
            "item_id": "a.item_id",
            "reviewer_id": "a.reviewer_id",
            "verdict": "'accept'",
            "seconds_spent": "30",
            "created_at": "now()",
        },
        "FROM review_assignment a ORDER BY a.id",
        [],
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"Loaded {records:,} approved records (candidate, item, assignment, decision) in {time.perf_counter() - started:.1f} s"
    )


def child(case: str, limit: int) -> None:
    """One measurement, in this process only."""
    from review.exports.build import build_export
    from review.models import Export

    out = Path(tempfile.mkdtemp(prefix="bench-export-"))
    before = peak_rss_mb()
    started = time.perf_counter()
    try:
        if case in ("jsonl", "parquet", "csv"):
            export = Export.objects.create(kind="sft", format=case, filters={})
            build_export(export, destination=out / "export")
            records = export.record_count
            size = sum(f.stat().st_size for f in (out / "export").rglob("*") if f.is_file())
        else:
            records, size = naive(limit, out / "naive.jsonl")
        seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(out, ignore_errors=True)  # a million records are hundreds of megabytes
    print(
        json.dumps(
            {
                "case": case,
                "records": records,
                "seconds": seconds,
                "rss_before_mb": before,
                "peak_rss_mb": peak_rss_mb(),
                "bytes": size,
            }
        )
    )


def naive(limit: int, path: Path) -> tuple[int, int]:
    """The baseline: every approved item as ORM instances in memory, then json.dumps per record."""
    from review.models import APPROVING_VERDICTS, ReviewItem

    items = list(
        ReviewItem.objects.filter(status="decided", final_verdict__in=APPROVING_VERDICTS)
        .select_related("candidate__domain", "final_revision")
        .prefetch_related("decisions")
        .order_by("pk")[:limit]
    )
    with path.open("w") as stream:
        for item in items:
            source = item.final_revision or item.candidate
            record = {
                "messages": [
                    {"role": "user", "content": source.instruction},
                    {"role": "assistant", "content": source.output},
                ],
                "id": f"item-{item.pk}",
                "domain": item.candidate.domain.name if item.candidate.domain else "",
                "technique": item.candidate.technique,
                "teacher": item.candidate.teacher_provider,
                "teacher_model": item.candidate.teacher_model,
                "reviews": [
                    {"reviewer": f"reviewer-{d.reviewer_id}", "verdict": d.verdict}
                    for d in item.decisions.all()
                ],
            }
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(items), path.stat().st_size


def measure(url: str, case: str, limit: int) -> dict:
    result = subprocess.run(  # noqa: S603 (this script, our own arguments)
        [sys.executable, __file__, "--child", case, "--url", url, "--limit", str(limit)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise SystemExit(f"{case} failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument(
        "--baseline-records",
        type=int,
        default=250_000,
        help="records the naive baseline loads (it holds them all)",
    )
    parser.add_argument(
        "--unstamped",
        action="store_true",
        help="candidates without the gate's PHI stamp: the export screens every text (its worst case)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child == "naive":
            # Its prefetch sends every item id in one IN list: more than the 65,535 parameters a
            # server-side-bound statement may carry, so the baseline binds on the client, as before.
            os.environ["DATABASE_SERVER_SIDE_BINDING"] = "0"
        setup_django(args.url)
        child(args.child, args.limit)
        return

    server = BenchPostgres()
    server.start()
    try:
        setup_django(server.url)
        load(args.records, gated=not args.unstamped)
        results = {
            case: measure(server.url, case, args.baseline_records)
            for case in ("jsonl", "parquet", "csv", "naive")
        }
    finally:
        server.stop()
    print(
        f"\n{'case':<32} {'records':>10} {'seconds':>8} {'records/s':>10} {'peak RSS':>10} {'over start':>11}"
    )
    for case, r in results.items():
        label = {
            "jsonl": "export, JSON Lines",
            "parquet": "export, Parquet",
            "csv": "export, CSV",
            "naive": "naive: ORM load all + json.dumps",
        }[case]
        print(
            f"{label:<32} {r['records']:>10,} {r['seconds']:>8.1f} {r['records'] / r['seconds']:>10,.0f} "
            f"{r['peak_rss_mb']:>8.0f} MB {r['peak_rss_mb'] - r['rss_before_mb']:>8.0f} MB"
        )
    jsonl, naive_r = results["jsonl"], results["naive"]
    speed = (jsonl["records"] / jsonl["seconds"]) / (naive_r["records"] / naive_r["seconds"])
    print(
        f"\nJSON Lines vs naive: {speed:.1f}x the records/s; peak RSS {jsonl['peak_rss_mb']:.0f} MB for "
        f"{jsonl['records']:,} records vs {naive_r['peak_rss_mb']:.0f} MB for {naive_r['records']:,} "
        f"({(naive_r['peak_rss_mb'] - naive_r['rss_before_mb']) / naive_r['records'] * 1e6 / 1024:.1f} GB per million above start)."
    )


if __name__ == "__main__":
    main()
