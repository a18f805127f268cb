"""Background tasks (Django's Tasks framework; django-tasks-db's db_worker runs them)."""

from django.tasks import task

from synth.generation import execute_run


@task()
def run_generation(run_id: int) -> None:
    execute_run(run_id)
