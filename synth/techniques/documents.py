"""Source documents for Backtranslation: uploaded de-identified texts, PHI-screened before use."""

from __future__ import annotations

from django.db import transaction

from synth.models import Domain, SourceDocument
from synth.quality.phi import find_phi
from synth.techniques.queries import text_problem

MAX_DOCUMENT_CHARS = 20_000


class DocumentError(Exception):
    """The document was not stored; the message says what to fix."""


def add_document(*, title: str, text: str, domain: Domain | None = None, created_by=None) -> SourceDocument:
    """Store a document; one with PHI findings is held back (never sent to a teacher), findings listed."""
    title, text = title.strip(), text.strip()
    if not title:
        raise DocumentError("Give the document a title.")
    if not text:
        raise DocumentError("The document is empty.")
    if len(text) > MAX_DOCUMENT_CHARS:
        raise DocumentError(f"The document is longer than {MAX_DOCUMENT_CHARS:,} characters: split it.")
    for label, value in (("title", title), ("text", text)):
        if problem := text_problem(value):
            line = value.count("\n", 0, _first_bad(value)) + 1
            raise DocumentError(f"The document's {label} (line {line}) {problem}.")
    findings = [finding.as_dict() for finding in find_phi(text)]
    with transaction.atomic():
        return SourceDocument.objects.create(
            title=title,
            text=text,
            domain=domain,
            held_back=bool(findings),
            phi_findings=findings,
            created_by=created_by,
        )


def _first_bad(value: str) -> int:
    return next(i for i, char in enumerate(value) if char == "\x00" or "\ud800" <= char <= "\udfff")
