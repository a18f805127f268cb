"""Queuing again the exports whose worker died: the export's watchdog, and a worker that starts.

A worker killed mid-export leaves the export RUNNING with a lease that stops being renewed;
`watch_export` (a task re-enqueued while the export is active), the `resume_exports` command and every
worker as it starts queue it again, closing the dead worker's task row; a new attempt builds it from
the start (review/exports/build.py).
"""

from __future__ import annotations

import os

from django.utils import timezone

from core import leases
from review.exports.background import WORKER_LOST, export_lease, tasks
from review.models import Export


def resume_stalled_exports(*, export: Export | None = None) -> list[Export]:
    """Queue again the exports whose worker died (lease ran out); a new attempt builds each one.

    An export the `export` command was building is marked failed instead: the command's own process
    died, and whoever ran it reruns it (its folder may not even be on this machine)."""
    now = timezone.now()
    stalled = leases.stalled(Export.objects.filter(status=Export.Status.RUNNING), now=now)
    if export is not None:
        stalled = stalled.filter(pk=export.pk)
    resumed = []
    for candidate in stalled:
        still_stalled = leases.stalled(
            Export.objects.filter(pk=candidate.pk, status=Export.Status.RUNNING, attempts=candidate.attempts),
            now=now,
        )
        if candidate.file_name and os.path.isabs(candidate.file_name):
            still_stalled.update(
                status=Export.Status.FAILED,
                finished_at=now,
                lease_until=None,
                error="The export command building this stopped before it finished: run it again.",
            )
            continue
        if not still_stalled.update(status=Export.Status.QUEUED, lease_until=None):
            continue
        leases.close_lost_tasks(
            tasks().build,
            [candidate.pk],
            exception_path=WORKER_LOST,
            reason="The worker building this export stopped renewing its lease; the export was queued again.",
            now=now,
        )
        tasks().build.enqueue(candidate.pk)
        resumed.append(candidate)
    return resumed


def next_watch_at(export: Export):
    """When the export's watchdog should look again: just after its lease can run out (a queued export
    taken from now on holds one to at least now + the lease), so a lost worker's export is queued again
    within its lease plus the grace, whenever it died."""
    running = export.status == Export.Status.RUNNING and export.lease_until
    return leases.next_watch_at(export.lease_until if running else None, length=export_lease())


def watch_active_export(export_id: int):
    """Queue the export again if its worker died; while it is queued or running, when to look again."""
    export = Export.objects.filter(pk=export_id).first()
    if export is None or export.status not in (Export.Status.QUEUED, Export.Status.RUNNING):
        return None
    resume_stalled_exports(export=export)
    export.refresh_from_db()
    if export.status not in (Export.Status.QUEUED, Export.Status.RUNNING):
        return None
    _queue_lost_builds([export])
    return next_watch_at(export)


def _queue_lost_builds(exports: list[Export]) -> list[Export]:
    """Queued exports whose build task was lost get a new one: the database went away as it was queued
    or taken, or its worker died before it could claim the export (a build claims it at once)."""
    build = tasks().build
    now = timezone.now()
    # Queued a moment ago: the `export` command is about to build it itself; left alone.
    queued = {
        e.pk: e
        for e in exports
        if e.status == Export.Status.QUEUED and e.created_at < now - leases.watchdog_grace()
    }
    if not queued or not leases.keeps_task_rows(build):
        return []
    rows = leases.task_rows(build, lost_after=export_lease(), now=now)
    for args, result_id in rows.lost:
        if args[:1] and args[0] in queued:
            leases.close_lost_task(
                result_id,
                exception_path=WORKER_LOST,
                reason="The worker running this build stopped before it took the export; it was queued again.",
                now=now,
            )
    live = {args[0] for args in rows.live if args}
    requeued = [export for pk, export in queued.items() if pk not in live]
    for export in requeued:
        build.enqueue(export.pk)
    return requeued


def look_after_active_exports() -> list[Export]:
    """When a worker starts, or the database is back after an outage: queue again now the exports whose
    lease ran out, build the queued ones whose task was lost, and give every active export whose
    watchdog task was lost a new one."""
    watch = tasks().watch
    resumed = resume_stalled_exports()
    if not leases.keeps_task_rows(watch):
        return resumed
    active = list(Export.objects.filter(status__in=[Export.Status.QUEUED, Export.Status.RUNNING]))
    resumed += _queue_lost_builds(active)
    leases.rewatch(
        watch, active, lost_after=export_lease(), exception_path=WORKER_LOST, next_watch_at=next_watch_at
    )
    return resumed
