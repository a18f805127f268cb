"""Creating an export: queued from the dashboard or run from the command line, written atomically."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from review.exports.base import WRITERS
from review.exports.records import RECORD_BUILDERS
from review.models import Export


class ExportError(Exception):
    """An export cannot be made; the message says what to fix."""


class _HashingFile:
    """Writes through to a file while computing its SHA-256, so the file is read once."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.stream.write(data)


def request_export(*, kind: str, format: str, created_by) -> Export:
    if kind not in RECORD_BUILDERS:
        raise ExportError(f"Unknown export kind '{kind}'. Choose one of: {', '.join(RECORD_BUILDERS)}.")
    if format not in WRITERS:
        raise ExportError(f"Unknown export format '{format}'. Choose one of: {', '.join(WRITERS)}.")
    from review.tasks import build_export_task

    with transaction.atomic():
        export = Export.objects.create(kind=kind, format=format, created_by=created_by)
        transaction.on_commit(lambda: build_export_task.enqueue(export.pk))
    return export


def export_path(export: Export) -> Path:
    return Path(settings.EXPORT_ROOT) / f"export-{export.pk}-{export.kind}.{WRITERS[export.format].extension}"


def build_export(export: Export) -> Export:
    """Write the export's file. It appears under its final name only once complete."""
    destination = export_path(export)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    Export.objects.filter(pk=export.pk).update(status=Export.Status.RUNNING)
    try:
        with partial.open("wb") as stream:
            hashing = _HashingFile(stream)
            count = WRITERS[export.format]().write(RECORD_BUILDERS[export.kind](), hashing)
        os.replace(partial, destination)
    except Exception as error:
        partial.unlink(missing_ok=True)
        Export.objects.filter(pk=export.pk).update(
            status=Export.Status.FAILED, error=str(error), finished_at=timezone.now()
        )
        raise
    export.status = Export.Status.READY
    export.file_name = destination.name
    export.record_count = count
    export.sha256 = hashing.digest.hexdigest()
    export.finished_at = timezone.now()
    export.save(update_fields=["status", "file_name", "record_count", "sha256", "finished_at"])
    return export
