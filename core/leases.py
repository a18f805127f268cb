"""Leases on background work: claiming a row whose lease is free or ran out, renewing it, finding
stalled work, and closing the task row a dead worker left RUNNING.

A worker holds a row (a run's chunk, a provider batch's check, an export) by a time in one of its
fields: the lease, renewed while the worker is alive. A worker killed mid-task stops renewing it, and
once it has run out any worker may take the row over. Claims are one conditional UPDATE, as
healthchecks' `sendalerts` does: the caller acts only if its UPDATE took the row. django-tasks-db
neither retries tasks nor notices a killed worker, whose task row stays RUNNING for ever: whoever takes
its work over closes that row, saying why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.tasks import Task
from django.utils import timezone
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

LEASE = "lease_until"


def lease_length(setting: str) -> timedelta:
    """A lease's length, from its setting in seconds (read at each use: tests and workers change it)."""
    return timedelta(seconds=getattr(settings, setting))


def watchdog_grace() -> timedelta:
    """How long after a lease can run out a watchdog looks (workers poll, clocks differ)."""
    return timedelta(seconds=settings.WATCHDOG_GRACE_SECONDS)


def claim(
    rows: QuerySet,
    *,
    length: timedelta,
    free: Q,
    held: Q | None = None,
    lease: str = LEASE,
    now: datetime | None = None,
    **changes,
) -> bool:
    """Take the row `rows` selects if it is `free`, or `held` under a lease that ran out (its worker
    died), setting a new lease and `changes`: True only for the caller whose UPDATE took it."""
    now = now or timezone.now()
    takeable = free if held is None else free | (held & Q(**{f"{lease}__lt": now}))
    return bool(rows.filter(takeable).update(**{lease: now + length}, **changes))


def renew(
    rows: QuerySet, *, length: timedelta, lease: str = LEASE, now: datetime | None = None, **changes
) -> bool:
    """Extend the lease of the rows the caller still holds (`rows` says which, e.g. by status or
    attempt), with `changes`; False when it holds none any more: another worker took the work over."""
    now = now or timezone.now()
    return bool(rows.update(**{lease: now + length}, **changes))


def stalled(
    rows: QuerySet, *, lease: str = LEASE, now: datetime | None = None, overdue: timedelta = timedelta(0)
) -> QuerySet:
    """The rows whose lease ran out (at least `overdue` ago): their worker stopped renewing it."""
    now = now or timezone.now()
    return rows.filter(**{f"{lease}__lt": now - overdue})


def next_watch_at(first_expiry: datetime | None, *, length: timedelta, now: datetime | None = None):
    """When a watchdog should look again: just after the first lease that can run out (work taken from
    now on holds one to at least now + its length, which bounds the wait), plus the grace. Lost work
    is thus taken over within its lease plus the grace, whenever its worker died."""
    now = now or timezone.now()
    due = min(first_expiry, now + length) if first_expiry else now + length
    return max(due, now) + watchdog_grace()


# Task rows (django-tasks-db) ----------------------------------------------------------------------


def keeps_task_rows(task: Task) -> bool:
    """Whether the task's backend stores its runs as rows (django-tasks-db) that can be looked at."""
    return isinstance(task.get_backend(), DatabaseBackend)


def _args(result: DBTaskResult) -> tuple:
    return tuple(result.args_kwargs.get("args") or ())


def close_lost_task(result_id, *, reason: str, exception_path: str, now: datetime | None = None) -> bool:
    """Close a task row a dead worker left RUNNING: FAILED, with `exception_path` as its exception and
    `reason` in place of a traceback, so the task list tells the truth. False if it was not RUNNING."""
    return bool(
        DBTaskResult.objects.filter(pk=result_id, status="RUNNING").update(
            status="FAILED",
            finished_at=now or timezone.now(),
            exception_class_path=exception_path,
            traceback=reason,
        )
    )


def close_lost_tasks(
    task: Task,
    args: Iterable,
    *,
    reason: str,
    exception_path: str,
    started_before: datetime | None = None,
    now: datetime | None = None,
) -> int:
    """Close the RUNNING rows of `task` called with `args` (started before `started_before`, if given),
    once their work is taken over; how many were closed."""
    now = now or timezone.now()
    running = DBTaskResult.objects.filter(task_path=task.module_path, status="RUNNING")
    if started_before is not None:
        running = running.filter(started_at__lt=started_before)
    closed = 0
    for result in running:
        if _args(result) == tuple(args):
            closed += close_lost_task(result.pk, reason=reason, exception_path=exception_path, now=now)
    return closed


@dataclass
class TaskRows:
    """A task's rows that are still to run or running: by their arguments, those that may yet do their
    work (`live`), and the ids of those RUNNING for longer than a lease (`lost`: their worker died)."""

    live: set[tuple] = field(default_factory=set)
    lost: list[tuple[tuple, int]] = field(default_factory=list)


def task_rows(task: Task, *, lost_after: timedelta, now: datetime | None = None) -> TaskRows:
    """The task's queued and running rows, telling apart those running for longer than `lost_after`.

    Only the caller knows whether such a row lost its worker (a chunk's task may run far longer than a
    lease, renewing it; a watchdog's pass takes moments): it closes them with `close_lost_task`."""
    now = now or timezone.now()
    rows = TaskRows()
    for result in DBTaskResult.objects.filter(task_path=task.module_path, status__in=["READY", "RUNNING"]):
        if result.status == "RUNNING" and result.started_at and result.started_at < now - lost_after:
            rows.lost.append((_args(result), result.pk))
        else:
            rows.live.add(_args(result))
    return rows


def rewatch(
    watch: Task,
    active: Iterable,
    *,
    lost_after: timedelta,
    exception_path: str,
    next_watch_at: Callable[[Any], datetime],
    now: datetime | None = None,
) -> None:
    """Give each `active` row (a run, an export) whose watchdog task was lost a new one, due at
    `next_watch_at(row)`, first closing the passes that ran for longer than `lost_after`: a watchdog's
    pass takes moments, so one running for a whole lease lost its worker."""
    now = now or timezone.now()
    rows = task_rows(watch, lost_after=lost_after, now=now)
    for _args, result_id in rows.lost:
        close_lost_task(
            result_id,
            exception_path=exception_path,
            reason="The worker running this watchdog pass stopped; a new pass was queued.",
            now=now,
        )
    watched = {args[0] for args in rows.live if args}
    for row in active:
        if row.pk not in watched:
            watch.using(run_after=next_watch_at(row)).enqueue(row.pk)
