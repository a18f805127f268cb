"""Generation's background work as its services see it: the tasks they queue, and a worker's lease.

`synth.tasks` defines the tasks (and imports the services they run); it registers them here when the
app is ready, so the services queue work without importing the tasks module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.tasks import Task

from core.leases import lease_length

# Where a lost worker's task row says it went (see core.leases.close_lost_task).
WORKER_LOST = "synth.generation.WorkerLost"


def run_lease() -> timedelta:
    """How long a worker may go silent before its chunk, or its provider batch check, is handed on."""
    return lease_length("GENERATION_LEASE_SECONDS")


@dataclass(frozen=True)
class GenerationTasks:
    run_chunk: Task  # (run_id, chunk_index): generate one chunk
    watch_run: Task  # (run_id,): hand on the chunks of a run whose worker died
    check_batch: Task  # (batch_id,): submit, poll or collect a provider batch
    cancel_batches: Task  # (run_id,): cancel a cancelled run's provider batches


_registered: GenerationTasks | None = None


def register(tasks: GenerationTasks) -> None:
    global _registered
    _registered = tasks


def tasks() -> GenerationTasks:
    if _registered is None:
        raise RuntimeError("Generation's tasks are not registered: the synth app registers them when ready.")
    return _registered
