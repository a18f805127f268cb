"""Source documents for Backtranslation and Summarization: de-identified texts, PHI-screened before use.

Added one at a time on the documents page, or as files (plain text, Markdown, JSON Lines), several at
once, from the page or `manage.py import_documents`: every file and every document in it is checked
first, and a batch with any problem is refused whole, so nothing is ever half-imported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import PurePath

from django.db import transaction
from django.db.models import QuerySet

from core.uploads import UploadError, read_text_file
from synth.models import Domain, SourceDocument
from synth.quality.phi import find_phi
from synth.techniques.options import option_error
from synth.techniques.queries import text_problem

MAX_DOCUMENT_CHARS = 20_000
MAX_TITLE_CHARS = 200
DOCUMENT_FILE_TYPES = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".jsonl": "jsonl"}
DOCUMENT_FILE_DESCRIBED = "a plain-text, Markdown or JSON Lines file"
DOCUMENT_FILE_HINT = (
    'upload .txt or .md files (one document each) or a .jsonl file (one {"title": ..., "text": ...} per line)'
)


class DocumentError(Exception):
    """The document was not stored; the message says what to fix."""


class DocumentImportError(Exception):
    """No document was stored; `problems` lists what to fix, each naming its file (and line)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def check_document(*, title: str, text: str) -> tuple[str, str]:
    """The title and text as they are stored (stripped), or DocumentError saying what to fix."""
    title, text = title.strip(), text.strip()
    if not title:
        raise DocumentError("Give the document a title.")
    if len(title) > MAX_TITLE_CHARS:
        raise DocumentError(f"The title is longer than {MAX_TITLE_CHARS} characters: shorten it.")
    if not text:
        raise DocumentError("The document is empty.")
    if len(text) > MAX_DOCUMENT_CHARS:
        raise DocumentError(f"The document is longer than {MAX_DOCUMENT_CHARS:,} characters: split it.")
    for label, value in (("title", title), ("text", text)):
        if problem := text_problem(value):
            line = value.count("\n", 0, _first_bad(value)) + 1
            raise DocumentError(f"The document's {label} (line {line}) {problem}.")
    return title, text


def add_document(*, title: str, text: str, domain: Domain | None = None, created_by=None) -> SourceDocument:
    """Store a document; one with PHI findings is held back (never sent to a teacher), findings listed."""
    title, text = check_document(title=title, text=text)
    with transaction.atomic():
        return _store(title, text, domain, created_by)


def _store(title: str, text: str, domain: Domain | None, created_by) -> SourceDocument:
    findings = [finding.as_dict() for finding in find_phi(text)]
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


@dataclass(frozen=True)
class DocumentFile:
    """An uploaded file: its name (only the base name is kept) and its bytes."""

    name: str
    data: bytes


def import_documents(
    *, files: list[DocumentFile], domain: Domain | None = None, created_by=None
) -> list[SourceDocument]:
    """Every document of every file, PHI-screened and stored in one transaction, or none of them.

    A .txt or .md file is one document (titled by its first Markdown heading, else its file name); a
    .jsonl file holds one per line ({"title", "text", optional "domain": a slug or name}). `domain`
    applies to the documents that do not name one."""
    if not files:
        raise DocumentImportError(["Choose one or more files to upload."])
    domains = {d.slug: d for d in Domain.objects.all()} | {d.name.lower(): d for d in Domain.objects.all()}
    problems: list[str] = []
    documents: list[tuple[str, str, Domain | None]] = []
    for file in files:
        name = PurePath(file.name.replace("\\", "/")).name
        try:
            content, kind = read_text_file(
                name,
                file.data,
                accepted=DOCUMENT_FILE_TYPES,
                described=DOCUMENT_FILE_DESCRIBED,
                hint=DOCUMENT_FILE_HINT,
            )
        except UploadError as error:
            problems.append(str(error))
            continue
        if kind == "jsonl":
            entries = _documents_in_json_lines(name, content, problems)
        else:
            entries = [(f"'{name}'", _title_of(name, content, kind), content, "")]
        for where, title, text, named_domain in entries:
            chosen = domain
            if named_domain:
                chosen = domains.get(named_domain) or domains.get(named_domain.lower())
                if chosen is None:
                    problems.append(f"{where}: unknown domain '{named_domain}' (use a domain's slug or name)")
                    continue
            try:
                title, text = check_document(title=title, text=text)
            except DocumentError as error:
                problems.append(f"{where}: {error}")
                continue
            documents.append((title, text, chosen))
    if problems:
        raise DocumentImportError(problems)
    with transaction.atomic():
        return [_store(title, text, chosen, created_by) for title, text, chosen in documents]


def _title_of(name: str, content: str, kind: str) -> str:
    if kind == "markdown":
        for line in content.splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip()[:MAX_TITLE_CHARS]
            if line.strip():
                break
    return name[:MAX_TITLE_CHARS]


def _documents_in_json_lines(name: str, content: str, problems: list[str]) -> list[tuple[str, str, str, str]]:
    """(where, title, text, domain) for each line; a line that is not one is a problem naming its line."""
    found, problems_before = [], len(problems)
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"'{name}' line {number}"
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as error:
            why = error.msg if isinstance(error, json.JSONDecodeError) else "nested too deeply"
            problems.append(f'{where}: not valid JSON ({why}); give {{"title": "...", "text": "..."}}')
            continue
        if not isinstance(record, dict) or not all(
            isinstance(record.get(key, ""), str) for key in ("title", "text", "domain")
        ):
            problems.append(
                f'{where}: expected an object such as {{"title": "...", "text": "..."}} (text values)'
            )
            continue
        found.append((where, record.get("title", ""), record.get("text", ""), record.get("domain", "")))
    if not found and len(problems) == problems_before:
        problems.append(f"'{name}' holds no documents")
    return found


def usable_documents(domains: list[Domain]) -> QuerySet[SourceDocument]:
    """The documents a run over these domains (all when none) may send to a teacher, in a fixed order:
    held-back ones (PHI findings) never."""
    documents = SourceDocument.objects.filter(held_back=False).order_by("pk")
    return documents.filter(domain__in=domains) if domains else documents


def require_documents(technique: str, domains: list[Domain], *, say_domains: bool = False) -> None:
    """Refuse a launch over documents when none may be sent (the launch form shows the message)."""
    if usable_documents(domains).exists():
        return
    message = (
        f"{technique} needs documents: upload de-identified documents first (documents with PHI "
        "findings are held back and not used)."
    )
    raise option_error(message + (" None is in the chosen domains." if say_domains and domains else ""))


def documents_used_up(domains: list[Domain], *, each: str) -> str:
    """Why a run over documents ends short: how many there are (and how many are held back)."""
    usable = usable_documents(domains).count()
    held = SourceDocument.objects.filter(held_back=True)
    held = (held.filter(domain__in=domains) if domains else held).count()
    said = f"{usable} document{'s' if usable != 1 else ''}, {each}"
    if held:
        said += f" ({held} more held back for PHI findings)"
    return f"{said}: every document has been used. Add documents at /runs/documents/ for more."
