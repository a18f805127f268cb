"""Exports whose worker died are found by their lease and built again; a finished one is never rebuilt."""

from __future__ import annotations

import datetime as dt

from django.core.management import call_command
from django.utils import timezone

from review.exports.build import build_export
from review.exports.watchdog import resume_stalled_exports
from review.models import Export


def stalled(**fields) -> Export:
    """An export a worker started (attempt 1) and then stopped renewing: its lease ran out."""
    return Export.objects.create(
        kind="sft", format="jsonl", status=Export.Status.RUNNING, attempts=1, progress=3,
        lease_until=timezone.now() - dt.timedelta(seconds=1), **fields,
    )  # fmt: skip


def test_it_builds_a_stalled_export_again(double_reviewed, settings):
    export = stalled()
    # The dead attempt's half-written folder is cleared away, not shipped.
    leftover = settings.EXPORT_ROOT / f"export-{export.pk}-sft.partial-1"
    leftover.mkdir(parents=True)
    (leftover / "train.jsonl").write_text('{"id": "item-1"}\n')

    assert resume_stalled_exports() == [export]  # the test task backend builds it at once
    export.refresh_from_db()
    assert export.status == Export.Status.READY and export.attempts == 2
    assert export.record_count == 4 and not leftover.exists()


def test_it_leaves_alone_an_export_whose_lease_still_runs(double_reviewed):
    export = stalled()
    Export.objects.filter(pk=export.pk).update(lease_until=timezone.now() + dt.timedelta(minutes=1))
    assert resume_stalled_exports() == []
    assert build_export(export).status == Export.Status.RUNNING  # another worker holds it: hands off
    assert Export.objects.get(pk=export.pk).attempts == 1


def test_it_never_rebuilds_a_finished_export(double_reviewed):
    export = build_export(Export.objects.create(kind="sft", format="jsonl"))
    assert export.status == Export.Status.READY
    finished_at = export.finished_at
    assert build_export(Export.objects.get(pk=export.pk)).finished_at == finished_at
    assert Export.objects.get(pk=export.pk).attempts == 1


def test_a_stalled_command_export_is_marked_failed_with_what_to_do(double_reviewed, tmp_path):
    export = stalled(file_name=str(tmp_path / "out"))
    assert resume_stalled_exports() == []
    export.refresh_from_db()
    assert export.status == Export.Status.FAILED
    assert export.error == "The export command building this stopped before it finished: run it again."


def test_the_resume_exports_command_says_what_it_queued(double_reviewed, capsys):
    export = stalled()
    call_command("resume_exports")
    assert f"Queued export {export.pk} again." in capsys.readouterr().out
    assert Export.objects.get(pk=export.pk).status == Export.Status.READY
