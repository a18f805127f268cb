import shutil
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from review.exports.base import WRITERS
from review.exports.build import ExportError, build_export, export_path
from review.exports.records import RECORD_BUILDERS
from review.models import Export


class Command(BaseCommand):
    help = "Export the approved records for training (SFT: TRL conversational messages, JSON Lines)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--kind", choices=sorted(RECORD_BUILDERS), default="sft")
        parser.add_argument("--format", choices=sorted(WRITERS), default="jsonl")
        parser.add_argument("--out", required=True, type=Path, help="File to write.")

    def handle(self, *args, kind: str, format: str, out: Path, **options) -> None:
        if out.exists() and out.is_dir():
            raise CommandError(f"--out {out} is a directory: give a file name, e.g. {out / 'sft.jsonl'}.")
        if not out.parent.exists():
            raise CommandError(f"The folder {out.parent} does not exist: create it first.")
        export = Export.objects.create(kind=kind, format=format)
        try:
            build_export(export)
        except (ExportError, OSError) as error:
            raise CommandError(f"The export failed: {error}") from error
        shutil.copyfile(export_path(export), out)
        self.stdout.write(
            f"Wrote {export.record_count} records to {out} (export #{export.pk}, sha256 {export.sha256})."
        )
