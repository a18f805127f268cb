"""A real worker killed with SIGKILL mid-export: nothing partial is served, and a new worker builds
the export again, complete, each record once; the export is queued again within its lease plus the
watchdog's grace, or at once by a worker that starts after the lease ran out. The recovery times are
printed (README, "Reliability notes").

The worker reads one record per page (EXPORT_PAGE_SIZE=1), renewing its lease after each, so an export
of a few thousand records takes long enough to be killed in the middle.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import time
from pathlib import Path

from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from review.exports.build import request_export
from review.models import Export, ReviewItem
from synth.models import Candidate
from tests.conftest import start_db_worker, wait_for

ROOT = Path(__file__).resolve().parents[3]
LEASE = 2.0
# Long enough for a new worker to be up (it takes seconds to start here) before the dead one's lease
# runs out, so that the export's watchdog, not the new worker's start, is what queues it again.
WATCHED_LEASE = 15.0
RECORDS = 1500


def start_worker(settings, log: Path | None = None) -> subprocess.Popen:
    return start_db_worker(
        settings,
        log=log,
        EXPORT_LEASE_SECONDS=str(settings.EXPORT_LEASE_SECONDS),
        EXPORT_PAGE_SIZE="1",
        WATCHDOG_GRACE_SECONDS=str(settings.WATCHDOG_GRACE_SECONDS),
    )


def queued_again() -> bool:
    """The dead worker's export was queued again (its lost build task closed at that moment)."""
    return DBTaskResult.objects.filter(task_path="review.tasks.build_export_task", status="FAILED").exists()


def kill_mid_export(settings, export: Export) -> float:
    first = start_worker(settings)
    try:
        wait_for(
            lambda: RECORDS // 5 <= Export.objects.get(pk=export.pk).progress <= RECORDS // 2, interval=0.05
        )
    finally:
        first.send_signal(signal.SIGKILL)  # kill -9: no cleanup of any kind
        first.wait(timeout=10)
    return time.monotonic()


def approved_records(review_items) -> set[str]:
    """RECORDS approved items: the queue's first item, copied (bulk, as a long run would leave them)."""
    template = review_items[0]
    source = template.candidate
    candidates = Candidate.objects.bulk_create(
        Candidate(
            run_id=source.run_id, sequence=10_000 + n, domain_id=source.domain_id, technique=source.technique,
            instruction=f"Question {n}: {source.instruction}", input=source.input, output=f"Answer {n}.",
            status=Candidate.Status.PASSED, content_hash=f"bulk-{n}", teacher_provider=source.teacher_provider,
            teacher_model=source.teacher_model,
        )
        for n in range(RECORDS)
    )  # fmt: skip
    items = ReviewItem.objects.bulk_create(
        ReviewItem(
            candidate=c, batch_id=template.batch_id, status=ReviewItem.Status.DECIDED, final_verdict="accept",
            decided_at=timezone.now(),
        )
        for c in candidates
    )  # fmt: skip
    return {f"item-{item.pk}" for item in items}


def test_a_worker_killed_mid_export_leaves_nothing_served_and_the_export_is_built_again_once(
    transactional_db, settings, review_items, data_lead, client, tmp_path
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.EXPORT_LEASE_SECONDS = WATCHED_LEASE
    expected = approved_records(review_items)
    export = request_export(kind="sft", format="jsonl", created_by=data_lead)
    folder = Path(settings.EXPORT_ROOT) / f"export-{export.pk}-sft"
    client.force_login(data_lead)
    download = reverse("review:export_download", args=[export.pk])
    train_file = reverse("review:export_file", args=[export.pk, "train.jsonl"])

    killed_at = kill_mid_export(settings, export)
    lease_ran_out = Export.objects.get(pk=export.pk).lease_until

    killed = Export.objects.get(pk=export.pk)
    assert killed.status == Export.Status.RUNNING and 0 < killed.progress < RECORDS
    # What the dead worker wrote is only under its attempt's temporary name, and nothing is served.
    assert not folder.exists()
    (partial,) = Path(settings.EXPORT_ROOT).glob(f"{folder.name}.partial-*")
    assert 0 < len((partial / "train.jsonl").read_bytes().splitlines()) < RECORDS
    assert client.get(download).status_code == 404
    assert client.get(train_file).status_code == 404

    log = tmp_path / "worker.log"
    second = start_worker(settings, log)
    try:
        wait_for(lambda: "Starting worker" in log.read_text())
        up_after = time.monotonic() - killed_at
        # The export's watchdog looks just after the dead worker's lease runs out, whenever that is.
        wait_for(queued_again, interval=0.05)
        recovered_after = time.monotonic() - killed_at
        past_lease = (timezone.now() - lease_ran_out).total_seconds()
        wait_for(lambda: Export.objects.get(pk=export.pk).status in {"ready", "failed"})
    finally:
        second.terminate()
        second.wait(timeout=10)
    print(
        f"\nA killed worker's export was queued again by the watchdog {recovered_after:.1f} s after the kill, "
        f"{past_lease:.1f} s after its lease ran out (lease {WATCHED_LEASE:.0f} s, grace "
        f"{settings.WATCHDOG_GRACE_SECONDS:.0f} s; the new worker, started at the kill, was up after "
        f"{up_after:.1f} s)."
    )

    export.refresh_from_db()
    assert export.status == Export.Status.READY, export.error
    assert export.attempts == 2 and export.record_count == RECORDS
    lines = (folder / "train.jsonl").read_bytes().splitlines()
    ids = [json.loads(line)["id"] for line in lines]
    assert len(ids) == len(set(ids)) == RECORDS  # no duplicate, none missing
    assert {i for i in ids if i in expected} == expected
    # The manifest vouches for the file as it is, and no temporary folder is left behind.
    manifest = json.loads((folder / "manifest.json").read_text())
    (entry,) = [f for f in manifest["files"] if f["path"] == "train.jsonl"]
    assert entry["sha256"] == hashlib.sha256((folder / "train.jsonl").read_bytes()).hexdigest()
    assert not list(Path(settings.EXPORT_ROOT).glob("*.partial*"))
    response = client.get(train_file)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).splitlines() == lines
    # The dead worker's task is closed with the reason, not left running for ever.
    builds = DBTaskResult.objects.filter(task_path="review.tasks.build_export_task")
    assert sorted(builds.values_list("status", flat=True)) == ["FAILED", "SUCCESSFUL"]
    assert "stopped renewing its lease" in builds.get(status="FAILED").traceback


def test_a_worker_that_starts_queues_an_export_whose_lease_ran_out_at_once(
    transactional_db, settings, review_items, data_lead
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.EXPORT_LEASE_SECONDS = LEASE
    settings.WATCHDOG_GRACE_SECONDS = 600  # the export's watchdog is not due for the whole test
    approved_records(review_items)
    export = request_export(kind="sft", format="jsonl", created_by=data_lead)
    killed_at = kill_mid_export(settings, export)
    wait_for(lambda: time.monotonic() > killed_at + LEASE)

    started_at = time.monotonic()
    second = start_worker(settings)
    try:
        wait_for(queued_again, interval=0.05)
        recovered_after = time.monotonic() - started_at
        wait_for(lambda: Export.objects.get(pk=export.pk).status in {"ready", "failed"})
    finally:
        second.terminate()
        second.wait(timeout=10)
    print(
        f"\nA worker started after the lease ran out queued the export again {recovered_after:.1f} s after its start."
    )

    export.refresh_from_db()
    assert export.status == Export.Status.READY, export.error
    assert export.attempts == 2 and export.record_count == RECORDS
    builds = DBTaskResult.objects.filter(task_path="review.tasks.build_export_task")
    assert sorted(builds.values_list("status", flat=True)) == ["FAILED", "SUCCESSFUL"]
    assert "stopped renewing its lease" in builds.get(status="FAILED").traceback
