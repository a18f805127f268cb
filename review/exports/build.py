"""Creating an export: queued from the dashboard or run from the command line, written atomically.

The export is written into `<folder>.partial-<attempt>/` and renamed to its folder only once complete,
with a manifest.json holding counts, settings, each file's SHA-256 and the snapshot time; it is marked
ready in the same transaction. Nothing else is ever served: the download views serve ready exports only.

A worker killed mid-export (kill -9, a lost machine) leaves the export RUNNING with a lease that stops
being renewed; the export's watchdog (review/exports/watchdog.py) queues it again, and a new attempt
builds it from the start. Each build claims the export with
a new attempt number and renews its lease only while that number is still the export's, so a worker
that was merely slow finds out at its next page and stops: one complete export, never two.
"""

from __future__ import annotations

import errno
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
from django.db.models import F, Q
from django.utils import timezone

from core import leases
from review.agreement_report import agreement_report, domain_alphas
from review.exports.background import export_lease, tasks
from review.exports.card import dataset_card
from review.exports.formats import FORMATS, ExportFormat
from review.exports.last_gate import WITHHELD, withheld_summary
from review.exports.pseudonyms import Pseudonyms, anonymised_report
from review.exports.records import RecordShaper, record_pages, schema_for, select
from review.exports.settings import ExportSettings, ExportSettingsError
from review.models import Export

SPLITS = ("train", "validation")
# Builds of one export, counting those whose worker died before it could say why (each one is
# re-queued by the watchdog when its lease runs out): past this, the export fails instead of looping.
MAX_ATTEMPTS = 3


class ExportError(Exception):
    """An export cannot be made; the message says what to fix."""


class LeaseLost(Exception):
    """This build's lease ran out and another attempt took the export over: stop, leave it to that one."""


def request_export(*, created_by, **options) -> Export:
    """Queue an export with these settings (see ExportSettings); the task worker builds it."""
    try:
        parsed = ExportSettings.load(options)
    except ExportSettingsError as error:
        raise ExportError(str(error)) from None

    with transaction.atomic():
        export = Export.objects.create(
            kind=parsed.kind, format=parsed.format, filters=parsed.stored(), created_by=created_by
        )
        transaction.on_commit(lambda: _enqueue_build(export.pk))
    return export


def _enqueue_build(export_id: int) -> None:
    queued = tasks()
    queued.build.enqueue(export_id)
    if queued.watch.get_backend().supports_defer:  # the immediate backend (tests) cannot wait
        queued.watch.using(run_after=leases.next_watch_at(None, length=export_lease())).enqueue(export_id)


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


def split_of(record_id: str, share: float, seed: int) -> str:
    """A record's split depends only on its id and the seed: the same export settings give the same split."""
    if share <= 0:
        return "train"
    digest = hashlib.blake2b(f"{seed}:{record_id}".encode(), digest_size=8).digest()
    return "validation" if int.from_bytes(digest) / 2**64 < share else "train"


def build_export(export: Export, *, destination: Path | None = None) -> Export:
    """Write the export's files. The folder appears under its final name only once complete.

    Does nothing if the export is finished, or being built by a worker whose lease still runs. An export
    with nothing to write ends EMPTY, saying why, with no folder. Any error while building marks the
    export FAILED at once with what to fix (an error here is the same on every attempt: a folder that
    cannot be made, a read-only or full disk, a bug); builds whose worker died each time (nothing could
    record why) stop after MAX_ATTEMPTS."""
    attempt = _claim(export, destination)
    if attempt is None:
        export.refresh_from_db()
        return export
    if attempt > MAX_ATTEMPTS:
        message = (
            f"Gave up after {attempt - 1} attempts: each time, the worker building this export stopped "
            "before it finished (killed, out of memory, or the database went away). See the task workers' "
            "log, then create the export again."
        )
        _fail(export, attempt, message)
        raise ExportError(message)
    folder = destination or Path(django_settings.EXPORT_ROOT) / f"export-{export.pk}-{export.kind}"
    partial = folder.with_name(f"{folder.name}.partial-{attempt}")
    try:
        try:
            parsed = ExportSettings.load({**export.filters, "kind": export.kind, "format": export.format})
        except ExportSettingsError as error:
            raise ExportError(str(error)) from None
        for stale in folder.parent.glob(f"{folder.name}.partial-*"):
            shutil.rmtree(stale, ignore_errors=True)  # left by a killed worker (or one that lost its lease)
        partial.mkdir(parents=True)
        written = _write(export, attempt, parsed, partial)
        with transaction.atomic():
            # Locked, so a worker whose lease ran out cannot finish alongside the attempt that replaced it.
            if not Export.objects.select_for_update().filter(
                pk=export.pk, attempts=attempt, status=Export.Status.RUNNING
            ):
                raise LeaseLost
            if not written:
                # Nothing to train on: no folder (a split-less folder is one `load_dataset` refuses).
                shutil.rmtree(partial, ignore_errors=True)
                export.status = Export.Status.EMPTY
                export.error = empty_reason(export.manifest)
                export.file_name = ""
            else:
                if folder.exists():
                    if destination is None:
                        shutil.rmtree(folder)  # renamed by an attempt killed before it could mark it ready
                    else:
                        folder.rmdir()  # only ever an empty folder: the command refuses anything else
                os.replace(partial, folder)
                export.status = Export.Status.READY
                export.file_name = str(folder) if destination else folder.name
            export.finished_at = timezone.now()
            export.lease_until = None
            export.save(
                update_fields=[
                    *("status", "error", "file_name", "record_count", "sha256", "manifest", "finished_at"),
                    "lease_until",
                ]
            )
    except LeaseLost:
        shutil.rmtree(partial, ignore_errors=True)
        export.refresh_from_db()
        return export
    except Exception as error:
        shutil.rmtree(partial, ignore_errors=True)
        message = failure_message(error, folder, setting="--out" if destination else "EXPORT_ROOT")
        _fail(export, attempt, message)
        export.refresh_from_db()
        raise ExportError(message) from error
    return export


def empty_reason(manifest: dict) -> str:
    """Why an export holds no record: the filter that left none, or what the last gate withheld."""
    selected = manifest["counts"]["selected"]
    if selected:
        return f"All {selected} records withheld: {withheld_summary(manifest['withheld'])}."
    steps = manifest["filter_counts"]
    if not steps or not steps[0]["records"]:
        if manifest["settings"].get("include_released"):
            return "No approved records match these filters: nothing has been approved or released yet."
        return "No approved records match these filters: physicians have approved nothing yet."
    emptied = next(step["step"] for step in steps if not step["records"])
    return f"No approved records match these filters (none left after: {emptied})."


def _blocking_file(path: Path) -> Path | None:
    """The file standing where a folder on the way to `path` should be, if any."""
    for ancestor in [path, *path.parents]:
        if ancestor.is_file():
            return ancestor
        if ancestor.is_dir():
            return None
    return None


def failure_message(error: BaseException, folder: Path, *, setting: str = "EXPORT_ROOT") -> str:
    """What went wrong, and what to fix, in words a data lead or an administrator can act on."""
    if isinstance(error, ExportError):
        return str(error)
    if isinstance(error, OSError):
        where = Path(error.filename) if error.filename else folder
        if error.errno == errno.EROFS:
            return (
                f"Cannot write the export: {where} is on a read-only file system. "
                f"Point {setting} at a writable folder (or mount it read-write), then create the export again."
            )
        if error.errno in (errno.ENOTDIR, errno.EEXIST) and (blocker := _blocking_file(where)):
            return (
                f"Cannot create the export's folder {folder}: {blocker} is a file, not a folder. "
                f"Point {setting} at a folder, or move that file away, then create the export again."
            )
        if error.errno in (errno.EACCES, errno.EPERM):
            return (
                f"Cannot write the export: no permission to write {where}. Give the account running the task "
                f"workers write access, or point {setting} at a folder it may write, then create the export again."
            )
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            return (
                f"Cannot write the export: the disk holding {folder.parent} is full. Free some space, then "
                "create the export again."
            )
        return (
            f"Cannot write the export to {where}: {error.strerror or error}. Check {setting}, then try again."
        )
    return (
        f"The export failed with an unexpected error ({type(error).__name__}: {error}). Report it with the "
        "task workers' log."
    )


def _claim(export: Export, destination: Path | None) -> int | None:
    """Take the export for a new build attempt: queued, or running under a lease that ran out."""
    changes = {"file_name": str(destination)} if destination else {}
    if not leases.claim(
        Export.objects.filter(pk=export.pk),
        length=export_lease(),
        free=Q(status=Export.Status.QUEUED),
        held=Q(status=Export.Status.RUNNING),
        status=Export.Status.RUNNING,
        attempts=F("attempts") + 1,
        **changes,
    ):
        return None
    return Export.objects.values_list("attempts", flat=True).get(pk=export.pk)


def _renew(export: Export, attempt: int, **progress: int) -> None:
    """Extend this attempt's lease (with its progress); stop if another attempt has taken over."""
    held = Export.objects.filter(pk=export.pk, attempts=attempt, status=Export.Status.RUNNING)
    if not leases.renew(held, length=export_lease(), **progress):
        raise LeaseLost


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


def _fail(export: Export, attempt: int, message: str) -> None:
    Export.objects.filter(pk=export.pk, attempts=attempt).update(
        status=Export.Status.FAILED, error=message, finished_at=timezone.now(), lease_until=None
    )


def _write(export: Export, attempt: int, parsed: ExportSettings, folder: Path) -> int:
    """Write the records, the dataset card and manifest.json into `folder`; return how many were written.

    The manifest and counts are set on `export` (saved by the caller). Nothing identifies a reviewer:
    reviews and the agreement figures carry pseudonyms keyed to this export (review.exports.pseudonyms)."""
    snapshot = timezone.now()
    selection = select(parsed, snapshot=snapshot, domain_alphas=domain_alphas)
    _renew(export, attempt, total=selection.total, progress=0)

    format_class: type[ExportFormat] = FORMATS[parsed.format]
    schema = schema_for(parsed)
    pseudonyms = Pseudonyms(stable=parsed.stable_pseudonyms)
    shaper = RecordShaper(parsed, pseudonyms)
    writers: dict[str, ExportFormat] = {}
    techniques, teachers, domains = Counter(), Counter(), Counter()
    reviewed = released = edited = written = 0
    split_by_id = parsed.validation_share > 0
    with _cyclic_gc_paused():
        for page in record_pages(selection, shaper, read_ahead_pages=True):
            # Counted a page at a time with C-level helpers: per-record Python steps are the export's cost.
            techniques.update(map(itemgetter("technique"), page))
            teachers.update(map(itemgetter("teacher", "teacher_model"), page))
            domains.update(map(itemgetter("domain"), page))
            reviewed += sum(map(itemgetter("reviewed"), page))
            released += sum(map(itemgetter("released"), page))
            edited += sum(map(itemgetter("edited"), page))
            by_split: dict[str, list] = {"train": page} if page else {}
            if split_by_id:
                by_split = {}
                for record in page:
                    split = split_of(record["id"], parsed.validation_share, parsed.seed)
                    by_split.setdefault(split, []).append(record)
            for split, records in by_split.items():
                if split not in writers:
                    writers[split] = format_class(folder / format_class.data_file(split), schema)
                writers[split].write(records)
            written += len(page)
            _renew(export, attempt, progress=shaper.seen)
    for writer in writers.values():
        writer.close()

    data_files = {split: format_class.data_file(split) for split in SPLITS if split in writers}
    report = anonymised_report(agreement_report(domains=parsed.domains or None), pseudonyms)
    manifest = {
        "export_id": export.pk,
        "kind": parsed.kind,
        "format": parsed.format,
        "snapshot_at": snapshot.isoformat(),
        "settings": parsed.stored(),
        "counts": {
            "records": written,
            "selected": shaper.seen,
            "splits": {split: writers[split].records for split in data_files},
            "reviewed": reviewed,
            "released": released,
            "edited": edited,
        },
        "filter_counts": selection.filter_counts,
        # Records the last gate kept out (review.exports.last_gate), by reason; never written anywhere.
        "withheld": {reason: shaper.withheld[reason] for reason in WITHHELD},
        "pseudonyms": "stable" if parsed.stable_pseudonyms else "this export only",
        "agreement": report,
        "files": [],
    }
    export.record_count = written
    export.manifest = manifest
    if not written:
        export.sha256 = ""
        return 0
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
    export.sha256 = hashlib.sha256(manifest_bytes).hexdigest()
    return written


def export_files(export: Export) -> list[str]:
    """The export's files, relative to its folder, as its manifest lists them (plus the manifest)."""
    return [entry["path"] for entry in export.manifest.get("files", [])] + ["manifest.json"]


# The files every export may hold beside its format's data files.
COMMON_FILE_TYPES = {"manifest.json": "application/json", "README.md": "text/markdown; charset=utf-8"}


def export_file_type(export: Export, name: str) -> str:
    """The content type one of the export's files is served with."""
    return COMMON_FILE_TYPES.get(name) or FORMATS[export.format].content_type
