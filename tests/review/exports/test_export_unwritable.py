"""An export that cannot be written fails at once, saying what to fix, and is never rebuilt in a loop:
EXPORT_ROOT under a plain file, or on a read-only file system, with a real db_worker process.

A read-only file system, as root (whom chmod does not stop): the worker runs in its own mount namespace
(`unshare -m`) where EXPORT_ROOT is bind-mounted read-only; this test process still sees it writable.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from review.exports.build import MAX_ATTEMPTS
from review.exports.watchdog import resume_stalled_exports
from review.models import Export
from tests.conftest import ROOT, database_url_for_subprocess, start_db_worker, wait_for
from tests.review.journey import HTMX, decide, generate, logged_in, seed_demo

# Run a command with EXPORT_ROOT (from its environment) mounted read-only, in a mount namespace of its own.
READ_ONLY = [
    "unshare", "-m", "--propagation", "private", "sh", "-c",
    'mount --bind "$EXPORT_ROOT" "$EXPORT_ROOT" && mount -o remount,bind,ro "$EXPORT_ROOT" && exec "$0" "$@"',
]  # fmt: skip


@pytest.fixture
def approved(transactional_db, settings):
    """seed_demo, an offline run, and one record a physician accepted on the review page."""
    users = seed_demo()
    generate()
    decide(logged_in(users["physician"]), "accept")
    # From here on, tasks go through the database queue to a real worker; the watchdog comes soon.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.EXPORT_LEASE_SECONDS = 1
    return users


def env_for(settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "EXPORT_ROOT": str(settings.EXPORT_ROOT),
        "EXPORT_LEASE_SECONDS": "1",
        "DEBUG": "0",
        **extra,
    }


def export_and_wait_until_it_settles(lead) -> Export:
    r = lead.post(reverse("review:export_create"), {"kind": "sft", "format": "hf"}, headers=HTMX)
    assert r.status_code == 200
    export = Export.objects.get()
    wait_for(lambda: Export.objects.get(pk=export.pk).status not in {"queued", "running"})
    # The export's watchdog runs a lease later: it must find the export finished and stop, not rebuild it.
    watchdog = DBTaskResult.objects.filter(task_path="review.tasks.watch_export")
    wait_for(lambda: watchdog.exists() and not watchdog.exclude(status="SUCCESSFUL").exists())
    export.refresh_from_db()
    return export


def assert_failed_once_and_shown(export: Export, lead, settings, *, says: str) -> None:
    assert export.status == "failed" and export.attempts == 1, (export.status, export.attempts, export.error)
    assert says in export.error and "then create the export again" in export.error
    assert not DBTaskResult.objects.filter(
        task_path="review.tasks.build_export_task", status="READY"
    ).exists()
    page = lead.get(reverse("review:dashboard")).text
    assert "Failed" in page and says in page
    assert lead.get(reverse("review:export_download", args=[export.pk])).status_code == 404


def test_an_export_root_under_a_plain_file_fails_at_once_saying_what_to_fix(approved, settings, tmp_path):
    blocker = tmp_path / "exports-is-a-file"
    blocker.write_text("not a folder")
    settings.EXPORT_ROOT = blocker / "exports"
    lead = logged_in(approved["datalead"])
    worker = start_db_worker(settings, EXPORT_LEASE_SECONDS="1")
    try:
        export = export_and_wait_until_it_settles(lead)
    finally:
        worker.terminate()
        worker.wait(timeout=10)
    assert_failed_once_and_shown(export, lead, settings, says=f"{blocker} is a file, not a folder")
    assert "Point EXPORT_ROOT at a folder" in export.error
    assert blocker.read_text() == "not a folder"


def test_a_read_only_export_root_fails_at_once_and_leaves_nothing_behind(approved, settings, tmp_path):
    root = tmp_path / "exports"
    root.mkdir()
    settings.EXPORT_ROOT = root
    lead = logged_in(approved["datalead"])
    worker = subprocess.Popen(
        [
            *READ_ONLY,
            sys.executable,
            "manage.py",
            "db_worker",
            "--no-reload",
            "--no-startup-delay",
            "--interval",
            "0.2",
        ],
        cwd=ROOT,
        env=env_for(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        export = export_and_wait_until_it_settles(lead)
    finally:
        worker.terminate()
        worker.wait(timeout=10)
    assert_failed_once_and_shown(export, lead, settings, says="is on a read-only file system")
    assert list(root.iterdir()) == []  # no folder, no partial one


def test_the_command_says_a_read_only_out_folder_cannot_be_written(approved, settings, tmp_path):
    root = tmp_path / "exports"
    root.mkdir()
    settings.EXPORT_ROOT = root
    done = subprocess.run(
        [*READ_ONLY, sys.executable, "manage.py", "export", "--format", "hf", "--out", str(root / "sft")],
        cwd=ROOT,
        env=env_for(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"--out {root / 'sft'}: cannot write there (Read-only file system)" in done.stderr
    assert not Export.objects.exists() and list(root.iterdir()) == []


def test_an_export_whose_worker_dies_every_time_fails_after_a_bounded_number_of_attempts(approved, settings):
    from datetime import timedelta

    from django.utils import timezone

    # What MAX_ATTEMPTS builds leave behind when each one's worker was killed before it could say why.
    export = Export.objects.create(
        kind="sft", format="jsonl", status=Export.Status.RUNNING, attempts=MAX_ATTEMPTS,
        lease_until=timezone.now() - timedelta(seconds=1),
    )  # fmt: skip
    worker = start_db_worker(settings, EXPORT_LEASE_SECONDS="1")
    try:
        assert resume_stalled_exports() == [export]  # the watchdog's step: queued again, for a worker
        wait_for(lambda: Export.objects.get(pk=export.pk).status not in {"queued", "running"})
    finally:
        worker.terminate()
        worker.wait(timeout=10)
    export.refresh_from_db()
    assert export.status == "failed" and export.attempts == MAX_ATTEMPTS + 1
    assert export.error.startswith(f"Gave up after {MAX_ATTEMPTS} attempts")
