"""Background tasks of the review side."""

from django.tasks import task

from review.exports.build import build_export
from review.models import Export


@task()
def build_export_task(export_id: int) -> None:
    build_export(Export.objects.get(pk=export_id))
