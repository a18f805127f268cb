"""Exports' background work as their services see it: the tasks they queue, and a worker's lease.

`review.tasks` defines the tasks (and imports the services they run); it registers them here when the
app is ready, so the services queue work without importing the tasks module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.tasks import Task

from core.leases import lease_length

# Where a lost worker's task row says it went (see core.leases.close_lost_task).
WORKER_LOST = "review.exports.build.WorkerLost"


def export_lease() -> timedelta:
    """How long a worker may go silent before its export is queued again."""
    return lease_length("EXPORT_LEASE_SECONDS")


@dataclass(frozen=True)
class ExportTasks:
    build: Task  # (export_id,): build an export
    watch: Task  # (export_id,): queue an export again if its worker died


_registered: ExportTasks | None = None


def register(tasks: ExportTasks) -> None:
    global _registered
    _registered = tasks


def tasks() -> ExportTasks:
    if _registered is None:
        raise RuntimeError("The export tasks are not registered: the review app registers them when ready.")
    return _registered
