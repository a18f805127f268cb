"""Resuming a run's chunks after a lost worker: the run's watchdog, and a worker that starts.

A worker killed mid-chunk leaves the chunk RUNNING with a lease that stops being renewed; `watch_run`
(a task re-enqueued while the run is active) and `resume_stalled_runs` (the `resume_runs` command, and
every worker as it starts) hand such chunks to another worker, closing the dead worker's task row.
"""

from __future__ import annotations

from django.db.models import Min
from django.utils import timezone

from core import leases
from synth.background import WORKER_LOST, run_lease, tasks
from synth.batches import sweep_batches
from synth.models import GenerationRun, RunChunk


def resume_stalled_runs(*, run: GenerationRun | None = None) -> list[RunChunk]:
    """Hand to a new task each chunk whose worker died (lease ran out) or whose task was lost.

    A pending chunk with no task queued or running for it lost its task (the database went away as it
    was taken, or as its retry was queued): it gets a new one."""
    run_chunk = tasks().run_chunk
    now = timezone.now()
    active = RunChunk.objects.filter(run__status__in=GenerationRun.ACTIVE_STATUSES)
    if run is not None:
        active = active.filter(run=run)
    resumed = []
    for chunk in leases.stalled(active.filter(status=RunChunk.Status.RUNNING), now=now):
        still_stalled = RunChunk.objects.filter(pk=chunk.pk, status=RunChunk.Status.RUNNING)
        if not leases.stalled(still_stalled, now=now).update(status=RunChunk.Status.PENDING):
            continue
        leases.close_lost_tasks(
            run_chunk,
            [chunk.run_id, chunk.index],
            exception_path=WORKER_LOST,
            reason="The worker running this chunk stopped renewing its lease; the chunk was resumed.",
            now=now,
        )
        run_chunk.enqueue(chunk.run_id, chunk.index)
        resumed.append(chunk)
    if leases.keeps_task_rows(run_chunk):
        # A chunk's task may run far longer than a lease (renewing it): one counts as lost only if its
        # chunk is still pending, i.e. its worker died before it could take the chunk.
        rows = leases.task_rows(run_chunk, lost_after=run_lease(), now=now)
        lost = dict(rows.lost)
        for chunk in active.filter(status=RunChunk.Status.PENDING):
            key = (chunk.run_id, chunk.index)
            if key in rows.live:
                continue
            if key in lost:
                leases.close_lost_task(
                    lost[key],
                    exception_path=WORKER_LOST,
                    reason="The worker running this task stopped before it took the chunk; the chunk was resumed.",
                    now=now,
                )
            run_chunk.enqueue(chunk.run_id, chunk.index)
            resumed.append(chunk)
    return resumed


def next_watch_at(run: GenerationRun):
    """When the run's watchdog should look again: just after the first of its leases that can run out."""
    first = RunChunk.objects.filter(run=run, status=RunChunk.Status.RUNNING).aggregate(
        first=Min("lease_until")
    )["first"]
    return leases.next_watch_at(first, length=run_lease())


def watch_active_run(run_id: int):
    """Resume the run's stalled chunks; while the run is active, when to look again (else None)."""
    run = GenerationRun.objects.filter(pk=run_id).first()
    if run is None or not run.is_active:
        return None
    resume_stalled_runs(run=run)
    if run.use_batch_api:
        sweep_batches(run)
    return next_watch_at(run)


def look_after_active_runs() -> list[RunChunk]:
    """When a worker starts, or the database is back after an outage: resume stalled chunks now, and
    give every active run whose watchdog task was lost (its worker died mid-pass) a new one."""
    watch_run = tasks().watch_run
    resumed = resume_stalled_runs()
    if not leases.keeps_task_rows(watch_run):
        return resumed
    leases.rewatch(
        watch_run,
        GenerationRun.objects.filter(status__in=GenerationRun.ACTIVE_STATUSES),
        lost_after=run_lease(),
        exception_path=WORKER_LOST,
        next_watch_at=next_watch_at,
    )
    return resumed
