"""A real db_worker killed with SIGKILL mid-export: nothing partial is served, and a new worker builds
the export again, complete, each record once.

The worker reads one record per page (EXPORT_PAGE_SIZE=1), renewing its lease after each, so an export
of a few thousand records takes long enough to be killed in the middle.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
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
RECORDS = 1500


def start_worker(settings) -> subprocess.Popen:
    return start_db_worker(settings, EXPORT_LEASE_SECONDS=str(LEASE), EXPORT_PAGE_SIZE="1")


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
    transactional_db, settings, review_items, data_lead, client
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.EXPORT_LEASE_SECONDS = LEASE
    expected = approved_records(review_items)
    export = request_export(kind="sft", format="jsonl", created_by=data_lead)
    folder = Path(settings.EXPORT_ROOT) / f"export-{export.pk}-sft"
    client.force_login(data_lead)
    download = reverse("review:export_download", args=[export.pk])
    train_file = reverse("review:export_file", args=[export.pk, "train.jsonl"])

    first = start_worker(settings)
    try:
        wait_for(
            lambda: RECORDS // 5 <= Export.objects.get(pk=export.pk).progress <= RECORDS // 2, interval=0.05
        )
    finally:
        first.send_signal(signal.SIGKILL)  # kill -9: no cleanup of any kind
        first.wait(timeout=10)

    killed = Export.objects.get(pk=export.pk)
    assert killed.status == Export.Status.RUNNING and 0 < killed.progress < RECORDS
    # What the dead worker wrote is only under its attempt's temporary name, and nothing is served.
    assert not folder.exists()
    (partial,) = Path(settings.EXPORT_ROOT).glob(f"{folder.name}.partial-*")
    assert 0 < len((partial / "train.jsonl").read_bytes().splitlines()) < RECORDS
    assert client.get(download).status_code == 404
    assert client.get(train_file).status_code == 404

    second = start_worker(settings)
    try:
        # The export's watchdog task, due a lease after the request, finds the lease run out.
        wait_for(lambda: Export.objects.get(pk=export.pk).status in {"ready", "failed"})
    finally:
        second.terminate()
        second.wait(timeout=10)

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
