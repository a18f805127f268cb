"""Background tasks of the review side (Django's Tasks framework; django-tasks-db's db_worker runs them)."""

from django.tasks import task

from review.exports import background
from review.exports.build import build_export
from review.exports.watchdog import watch_active_export
from review.models import Export


@task()
def build_export_task(export_id: int) -> None:
    build_export(Export.objects.get(pk=export_id))


@task()
def watch_export(export_id: int) -> None:
    """While an export is queued or running, queue it again if its worker died, then look again just
    after its lease can run out (not a fixed period later: recovery takes a lease plus a grace).

    django-tasks-db neither retries tasks nor notices a killed worker, so this is the sweeper."""
    if (next_pass := watch_active_export(export_id)) is not None:
        watch_export.using(run_after=next_pass).enqueue(export_id)


def register() -> None:
    """Hand these tasks to the export services that queue them (called when the app is ready)."""
    background.register(background.ExportTasks(build=build_export_task, watch=watch_export))
