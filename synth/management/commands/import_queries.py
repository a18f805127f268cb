"""`manage.py import_queries PATH --name NAME`: a query set from a file, checked as the upload page checks it."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.uploads import oversized_message
from synth.techniques.queries import QueryImportError, import_query_file


class Command(BaseCommand):
    help = (
        "Import a query set for Distillation from a JSON Lines, CSV or plain-text file (one query per line). "
        "A file with any bad row is refused whole, each problem with its line; nothing is stored."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="A .jsonl, .csv or .txt file.")
        parser.add_argument("--name", required=True, help="The query set's name (must be new).")

    def handle(self, *args, path: str, name: str, **options) -> None:
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"No file at '{path}': give the path of a .jsonl, .csv or .txt file.")
        if file.stat().st_size > settings.UPLOAD_MAX_BYTES:  # refused before it is read, as the page does
            raise CommandError(f"Nothing was imported. {oversized_message(file.name)}")
        try:
            query_set = import_query_file(name=name, file_name=file.name, data=file.read_bytes())
        except QueryImportError as error:
            raise CommandError(
                "Nothing was imported. Fix these and run the command again:\n"
                + "\n".join(f"  - {problem}" for problem in error.problems)
            ) from None
        size, held = query_set.queries.count(), query_set.queries.filter(held_back=True).count()
        self.stdout.write(f"Query set '{query_set.name}' added with {size} queries from {file.name}.")
        for query in query_set.queries.filter(held_back=True).order_by("line"):
            findings = ", ".join(
                f"{f['kind']} “{f['text']}” (in the {f['field']})" for f in query.phi_findings
            )
            self.stdout.write(f"  line {query.line}: held back, the PHI screen found {findings}")
        if held:
            self.stdout.write(f"{held} held back: they are never sent to a teacher.")
