"""`manage.py export`: write an SFT or DPO export (JSON Lines, Parquet or a Hugging Face dataset folder)."""

import datetime as dt
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from review.exports.build import ExportError, build_export
from review.exports.formats import FORMATS
from review.exports.last_gate import withheld_summary
from review.exports.settings import ExportSettings, ExportSettingsError
from review.models import Export


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"'{value}' is not a date: write it as YYYY-MM-DD.") from None


def _checked_out(out: Path) -> Path:
    """--out as an absolute path to a new or empty folder whose parent this process can write in.

    Checked before anything is recorded, so a bad value changes nothing and says what to fix."""
    try:
        out = out.expanduser().resolve()
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise CommandError(f"--out {out} already exists and is not an empty folder: choose a new folder.")
        parent = out.parent
        for ancestor in [parent, *parent.parents]:
            if ancestor.is_dir():
                break
            if ancestor.exists():
                raise CommandError(
                    f"--out {out}: {ancestor} is a file, not a folder. Choose a folder to write into."
                )
        if not parent.is_dir():
            raise CommandError(
                f"--out {out}: the folder {parent} does not exist. Create it first (mkdir -p {parent}), "
                "or choose a folder that exists."
            )
        # The export is written beside --out, then renamed: try that once, now.
        tempfile.TemporaryDirectory(dir=parent, prefix=f".{out.name[:50]}.check-").cleanup()
    except CommandError:
        raise
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise CommandError(f"--out {out}: cannot write there ({reason}). Choose another folder.") from None
    return out


class Command(BaseCommand):
    help = (
        "Export reviewed records for training into a folder: data files per split plus manifest.json "
        "(and a README.md dataset card for --format hf)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--kind", choices=["sft", "dpo"], default="sft")
        parser.add_argument("--format", choices=sorted(FORMATS), default="jsonl")
        parser.add_argument("--out", required=True, type=Path, help="Folder to write (new or empty).")
        parser.add_argument(
            "--sft-style", choices=["messages", "prompt_completion", "alpaca"], default="messages"
        )
        parser.add_argument(
            "--dpo-from-edits",
            action="store_true",
            help="Also make a pair of each physician's edit: edited = chosen, original = rejected.",
        )
        parser.add_argument("--system-prompt", default=None, help="System message ('' for none).")
        parser.add_argument("--domain", action="append", default=[], help="Domain slug (repeatable).")
        parser.add_argument("--technique", action="append", default=[], help="Technique (repeatable).")
        parser.add_argument(
            "--from", dest="date_from", type=_date, help="Generated on or after (YYYY-MM-DD)."
        )
        parser.add_argument("--to", dest="date_to", type=_date, help="Generated on or before (YYYY-MM-DD).")
        parser.add_argument(
            "--min-agreement", type=float, help="Only domains whose reviewers' alpha is at least this."
        )
        parser.add_argument(
            "--include-released",
            action="store_true",
            help="Add released batches' unreviewed records (marked reviewed=false, released=true).",
        )
        parser.add_argument("--validation-share", type=float, default=0.0, help="e.g. 0.1 for 10%%.")
        parser.add_argument("--seed", type=int, default=42, help="Seed of the train/validation split.")
        parser.add_argument(
            "--stable-pseudonyms",
            action="store_true",
            help="Give each reviewer the same pseudonym in every export (keyed by the server's secret); "
            "by default pseudonyms are keyed to this export alone, so two exports cannot be joined on them.",
        )

    def handle(self, *args, out: Path, **options) -> None:
        out = _checked_out(out)
        values = {
            "kind": options["kind"],
            "format": options["format"],
            "sft_style": options["sft_style"],
            "dpo_from_edits": options["dpo_from_edits"],
            "domains": options["domain"],
            "techniques": options["technique"],
            "date_from": options["date_from"],
            "date_to": options["date_to"],
            "min_agreement": options["min_agreement"],
            "include_released": options["include_released"],
            "validation_share": options["validation_share"],
            "seed": options["seed"],
            "stable_pseudonyms": options["stable_pseudonyms"],
        }
        if options["system_prompt"] is not None:
            values["system_prompt"] = options["system_prompt"]
        try:
            parsed = ExportSettings.load(values)
        except ExportSettingsError as error:
            raise CommandError(str(error)) from None
        export = Export.objects.create(kind=parsed.kind, format=parsed.format, filters=parsed.stored())
        try:
            build_export(export, destination=out)
        except ExportError as error:
            raise CommandError(f"The export failed: {error}") from None
        if export.status == Export.Status.EMPTY:
            raise CommandError(f"Nothing written (export #{export.pk} is empty): {export.error}")
        splits = ", ".join(f"{n} {split}" for split, n in export.manifest["counts"]["splits"].items())
        withheld = withheld_summary(export.manifest["withheld"])
        self.stdout.write(
            f"Wrote {export.record_count} records ({splits}) to {out} "
            f"(export #{export.pk}, manifest sha256 {export.sha256})."
            + (f" Withheld at export, never written: {withheld}." if withheld else "")
        )
