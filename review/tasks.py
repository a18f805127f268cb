"""Background tasks of the review side (Django's Tasks framework; django-tasks-db's db_worker runs them)."""

from django.tasks import task
from django.utils import timezone

from review.exports.build import _lease, build_export, watch_active_export
from review.models import Export


@task()
def build_export_task(export_id: int) -> None:
    build_export(Export.objects.get(pk=export_id))


@task()
def watch_export(export_id: int) -> None:
    """While an export is queued or running, queue it again if its worker died, then look again later.

    django-tasks-db neither retries tasks nor notices a killed worker, so this is the sweeper."""
    if watch_active_export(export_id):
        watch_export.using(run_after=timezone.now() + _lease()).enqueue(export_id)
