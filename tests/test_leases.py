"""The one lease mechanism (core/leases.py): claims, renewals, stalled work and lost task rows."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from core import leases
from review.models import Export
from review.tasks import build_export_task

LEASE = dt.timedelta(seconds=60)


def export(**fields) -> Export:
    return Export.objects.create(kind="sft", format="jsonl", **fields)


def take(row: Export, now=None) -> bool:
    return leases.claim(
        Export.objects.filter(pk=row.pk),
        length=LEASE,
        free=Q(status=Export.Status.QUEUED),
        held=Q(status=Export.Status.RUNNING),
        now=now,
        status=Export.Status.RUNNING,
    )


def test_it_claims_free_work_once(db):
    row = export()
    now = timezone.now()
    assert take(row, now) is True
    assert take(row, now) is False  # the first claim holds it
    row.refresh_from_db()
    assert row.status == Export.Status.RUNNING and row.lease_until == now + LEASE


def test_it_claims_work_whose_lease_ran_out(db):
    row = export(status=Export.Status.RUNNING, lease_until=timezone.now() - dt.timedelta(seconds=1))
    assert take(row) is True


def test_it_leaves_work_whose_lease_still_runs(db):
    row = export(status=Export.Status.RUNNING, lease_until=timezone.now() + dt.timedelta(seconds=30))
    assert take(row) is False


def test_it_renews_only_work_still_held(db):
    row = export(status=Export.Status.RUNNING, attempts=2, lease_until=timezone.now())
    now = timezone.now()
    assert leases.renew(Export.objects.filter(pk=row.pk, attempts=2), length=LEASE, now=now, progress=5)
    row.refresh_from_db()
    assert row.lease_until == now + LEASE and row.progress == 5
    assert not leases.renew(Export.objects.filter(pk=row.pk, attempts=1), length=LEASE)  # taken over


def test_it_finds_stalled_work(db):
    now = timezone.now()
    lost = export(status=Export.Status.RUNNING, lease_until=now - dt.timedelta(seconds=1))
    export(status=Export.Status.RUNNING, lease_until=now + dt.timedelta(seconds=1))
    assert list(leases.stalled(Export.objects.all(), now=now)) == [lost]
    assert list(leases.stalled(Export.objects.all(), now=now, overdue=dt.timedelta(seconds=5))) == []


def test_the_next_watch_is_just_after_the_first_lease_that_can_run_out(settings):
    settings.WATCHDOG_GRACE_SECONDS = 2
    now = timezone.now()
    grace = dt.timedelta(seconds=2)
    assert leases.next_watch_at(None, length=LEASE, now=now) == now + LEASE + grace
    soon = now + dt.timedelta(seconds=5)
    assert leases.next_watch_at(soon, length=LEASE, now=now) == soon + grace
    assert leases.next_watch_at(now - LEASE, length=LEASE, now=now) == now + grace  # overdue: now


def task_row(status: str, args: list, started_at=None) -> DBTaskResult:
    return DBTaskResult.objects.create(
        task_path="review.tasks.build_export_task",
        status=status,
        args_kwargs={"args": args, "kwargs": {}},
        queue_name="default",
        backend_name="default",
        started_at=started_at,
        run_after=timezone.now(),
    )


def test_it_closes_a_lost_task_row_saying_why(db):
    row = task_row("RUNNING", [7], started_at=timezone.now())
    closed = leases.close_lost_tasks(
        build_export_task, [7], reason="It stopped.", exception_path="x.WorkerLost"
    )
    assert closed == 1
    row.refresh_from_db()
    assert (row.status, row.exception_class_path, row.traceback) == ("FAILED", "x.WorkerLost", "It stopped.")
    assert not leases.close_lost_task(row.pk, reason="again", exception_path="x.WorkerLost")  # once


def test_it_tells_lost_task_rows_from_live_ones(db):
    now = timezone.now()
    task_row("READY", [1])
    task_row("RUNNING", [2], started_at=now - dt.timedelta(seconds=1))
    old = task_row("RUNNING", [3], started_at=now - dt.timedelta(minutes=5))
    rows = leases.task_rows(build_export_task, lost_after=LEASE, now=now)
    assert rows.live == {(1,), (2,)} and rows.lost == [((3,), old.pk)]
