"""`manage.py import_documents PATH... [--domain SLUG]`: de-identified documents from files, PHI-screened."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.uploads import oversized_message
from synth.models import Domain
from synth.techniques.documents import DocumentFile, DocumentImportError, import_documents


class Command(BaseCommand):
    help = (
        "Import de-identified documents (Backtranslation, Summarization) from .txt or .md files (one document "
        "each) or .jsonl files (one per line). Each is PHI-screened; one with findings is held back. Any bad "
        "file refuses the whole import: nothing is stored."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help="A .txt, .md or .jsonl file.")
        parser.add_argument("--domain", help="A domain's slug or name, for documents that name none.")

    def handle(self, *args, paths: list[str], domain: str | None = None, **options) -> None:
        chosen = None
        if domain:
            chosen = (
                Domain.objects.filter(slug=domain).first()
                or Domain.objects.filter(name__iexact=domain).first()
            )
            if chosen is None:
                known = ", ".join(Domain.objects.values_list("slug", flat=True)) or "none yet"
                raise CommandError(f"Nothing was imported. No domain '{domain}': use one of {known}.")
        files, problems = [], []
        for path in paths:
            file = Path(path)
            if not file.is_file():
                problems.append(f"no file at '{path}'")
            elif file.stat().st_size > settings.UPLOAD_MAX_BYTES:
                problems.append(oversized_message(file.name))
            else:
                files.append(DocumentFile(file.name, file.read_bytes()))
        try:
            if problems:
                raise DocumentImportError(problems)
            documents = import_documents(files=files, domain=chosen)
        except DocumentImportError as error:
            raise CommandError(
                "Nothing was imported. Fix these and run the command again:\n"
                + "\n".join(f"  - {problem}" for problem in error.problems)
            ) from None
        held = [document for document in documents if document.held_back]
        self.stdout.write(f"{len(documents)} document{'s' if len(documents) != 1 else ''} added:")
        for document in documents:
            if document.held_back:
                findings = ", ".join(f"{f['kind']} “{f['text']}”" for f in document.phi_findings)
                self.stdout.write(f"  {document.title}: held back, the PHI screen found {findings}")
            else:
                self.stdout.write(f"  {document.title}: clear")
        if held:
            self.stdout.write(f"{len(held)} held back: they are never sent to a teacher.")
