"""Background tasks (Django's Tasks framework; django-tasks-db's db_worker runs them)."""

from datetime import timedelta

from django.tasks import task
from django.utils import timezone

from synth import background
from synth.batches import advance_batch, cancel_run_batches
from synth.generation.chunks import execute_chunk
from synth.generation.watchdog import watch_active_run


@task()
def run_generation(run_id: int, chunk_index: int = 0) -> None:
    """Generate one chunk of a run; a run's chunks are separate tasks, for as many workers as run."""
    execute_chunk(run_id, chunk_index)


@task()
def watch_run(run_id: int) -> None:
    """While a run is active, hand chunks whose worker died to a new task, then look again just after
    the next lease that can run out (not a fixed period later: recovery takes a lease plus a grace).

    django-tasks-db neither retries tasks nor notices a killed worker, so this is the sweeper."""
    if (next_pass := watch_active_run(run_id)) is not None:
        watch_run.using(run_after=next_pass).enqueue(run_id)


@task()
def check_batch(batch_id: int) -> None:
    """Submit a provider batch, or poll it, or collect its results; poll again later while it runs."""
    delay = advance_batch(batch_id)
    if delay is not None and check_batch.get_backend().supports_defer:
        check_batch.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue(batch_id)


@task()
def cancel_batches(run_id: int) -> None:
    """A cancelled run's provider batches are cancelled at the provider too."""
    cancel_run_batches(run_id)


def register() -> None:
    """Hand these tasks to the generation services that queue them (called when the app is ready)."""
    background.register(
        background.GenerationTasks(
            run_chunk=run_generation,
            watch_run=watch_run,
            check_batch=check_batch,
            cancel_batches=cancel_batches,
        )
    )
