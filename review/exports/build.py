"""Creating an export: queued from the dashboard or run from the command line, written atomically.

The export is written into `<folder>.partial/` and renamed to its folder only once complete, with a
manifest.json holding counts, settings, each file's SHA-256 and the snapshot time.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path

from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone

from review.agreement_report import agreement_report, domain_alphas
from review.exports.base import FORMATS, ExportFormat
from review.exports.card import dataset_card
from review.exports.records import record_pages, schema_for, select
from review.exports.settings import ExportSettings, ExportSettingsError
from review.models import Export

SPLITS = ("train", "validation")


class ExportError(Exception):
    """An export cannot be made; the message says what to fix."""


def request_export(*, created_by, **options) -> Export:
    """Queue an export with these settings (see ExportSettings); the task worker builds it."""
    try:
        parsed = ExportSettings.load(options)
    except ExportSettingsError as error:
        raise ExportError(str(error)) from None
    from review.tasks import build_export_task

    with transaction.atomic():
        export = Export.objects.create(
            kind=parsed.kind, format=parsed.format, filters=parsed.stored(), created_by=created_by
        )
        transaction.on_commit(lambda: build_export_task.enqueue(export.pk))
    return export


def export_folder(export: Export) -> Path:
    if export.file_name and os.path.isabs(export.file_name):
        return Path(export.file_name)
    return Path(django_settings.EXPORT_ROOT) / (export.file_name or f"export-{export.pk}-{export.kind}")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _split_of(record_id: str, share: float, seed: int) -> str:
    """A record's split depends only on its id and the seed: the same export settings give the same split."""
    if share <= 0:
        return "train"
    digest = hashlib.blake2b(f"{seed}:{record_id}".encode(), digest_size=8).digest()
    return "validation" if int.from_bytes(digest) / 2**64 < share else "train"


def build_export(export: Export, *, destination: Path | None = None) -> Export:
    """Write the export's files. The folder appears under its final name only once complete."""
    try:
        parsed = ExportSettings.load({**export.filters, "kind": export.kind, "format": export.format})
    except ExportSettingsError as error:
        _fail(export, str(error))
        raise ExportError(str(error)) from None
    folder = destination or Path(django_settings.EXPORT_ROOT) / f"export-{export.pk}-{export.kind}"
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)  # left by a killed worker: start this export over
    partial.mkdir(parents=True)
    try:
        _write(export, parsed, partial)
        if folder.exists():
            folder.rmdir()  # only ever an empty folder: the command refuses anything else
        os.replace(partial, folder)
    except Exception as error:
        shutil.rmtree(partial, ignore_errors=True)
        _fail(export, str(error))
        if isinstance(error, ExportError):
            raise
        raise ExportError(str(error)) from error
    export.status = Export.Status.READY
    export.file_name = str(folder) if destination else folder.name
    export.finished_at = timezone.now()
    export.save(update_fields=["status", "file_name", "record_count", "sha256", "manifest", "finished_at"])
    return export


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector while records stream through.

    A million records allocate tens of millions of dicts, lists and strings; each allocation burst
    triggers collections that scan every object the process holds (Django, the app, the libraries),
    which halved the export's speed. Records are trees, freed by reference counting as soon as their
    page is written, so memory stays flat without the collector; it runs again afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _fail(export: Export, message: str) -> None:
    Export.objects.filter(pk=export.pk).update(
        status=Export.Status.FAILED, error=message, finished_at=timezone.now()
    )


def _write(export: Export, parsed: ExportSettings, folder: Path) -> None:
    snapshot = timezone.now()
    selection = select(parsed, snapshot=snapshot, domain_alphas=domain_alphas)
    total = selection.total
    Export.objects.filter(pk=export.pk).update(status=Export.Status.RUNNING, total=total, progress=0)

    format_class: type[ExportFormat] = FORMATS[parsed.format]
    schema = schema_for(parsed)
    writers: dict[str, ExportFormat] = {}
    techniques, teachers, domains = Counter(), Counter(), Counter()
    reviewed = released = edited = written = 0
    split_by_id = parsed.validation_share > 0
    with _cyclic_gc_paused():
        for page in record_pages(selection, parsed):
            # Counted a page at a time with C-level helpers: per-record Python steps are the export's cost.
            techniques.update(map(itemgetter("technique"), page))
            teachers.update(map(itemgetter("teacher", "teacher_model"), page))
            domains.update(map(itemgetter("domain"), page))
            reviewed += sum(map(itemgetter("reviewed"), page))
            released += sum(map(itemgetter("released"), page))
            edited += sum(map(itemgetter("edited"), page))
            by_split: dict[str, list] = {"train": page}
            if split_by_id:
                by_split = {}
                for record in page:
                    split = _split_of(record["id"], parsed.validation_share, parsed.seed)
                    by_split.setdefault(split, []).append(record)
            for split, records in by_split.items():
                if split not in writers:
                    writers[split] = format_class(folder / format_class.data_file(split), schema)
                writers[split].write(records)
            written += len(page)
            Export.objects.filter(pk=export.pk).update(progress=written)
    if not writers:  # nothing matched: an empty train split still tells the data lead so, with its schema
        writers["train"] = format_class(folder / format_class.data_file("train"), schema)
    for writer in writers.values():
        writer.close()

    data_files = {split: format_class.data_file(split) for split in SPLITS if split in writers}
    report = agreement_report(domains=parsed.domains or None)
    manifest = {
        "export_id": export.pk,
        "kind": parsed.kind,
        "format": parsed.format,
        "snapshot_at": snapshot.isoformat(),
        "settings": parsed.stored(),
        "counts": {
            "records": written,
            "splits": {split: writers[split].records for split in data_files},
            "reviewed": reviewed,
            "released": released,
            "edited": edited,
        },
        "filter_counts": selection.filter_counts,
        "agreement": report,
        "files": [],
    }
    if format_class.dataset_card:
        teacher_counts: Counter = Counter()
        for (name, model), n in teachers.items():
            teacher_counts[f"{name} {model}".strip()] += n
        provenance = {"technique": techniques, "teacher": teacher_counts, "domain": domains}
        card = dataset_card(manifest=manifest, data_files=data_files, provenance=provenance)
        (folder / "README.md").write_text(card, encoding="utf-8")
    paths = [*data_files.values(), *(["README.md"] if format_class.dataset_card else [])]
    manifest["files"] = [
        {"path": path, "sha256": sha256_of(folder / path), "bytes": (folder / path).stat().st_size}
        for path in paths
    ]
    manifest_bytes = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
    (folder / "manifest.json").write_bytes(manifest_bytes)
    export.record_count = written
    export.manifest = manifest
    export.sha256 = hashlib.sha256(manifest_bytes).hexdigest()


def export_files(export: Export) -> list[str]:
    """The export's files, relative to its folder, as its manifest lists them (plus the manifest)."""
    return [entry["path"] for entry in export.manifest.get("files", [])] + ["manifest.json"]
