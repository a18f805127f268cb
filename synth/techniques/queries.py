"""Query sets for Distillation: uploaded as JSON Lines or CSV, or typed in one per line.

Every row is checked before anything is stored; a file with any bad row is refused as a whole, with
each problem's line number, so nothing is ever half-imported. Every query is PHI-screened as it comes
in: one with findings is stored held back, with its findings, and never sent to a teacher.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

from django.db import transaction

from core.uploads import UploadError, read_text_file
from synth.models import Domain, Query, QuerySet
from synth.quality.phi import find_phi

MAX_QUERIES = 10_000
MAX_QUERY_CHARS = 8_000
MAX_NESTING = 20  # JSON deeper than this is not a query record (and very deep JSON exhausts the parser)
TEXT_FIELDS = ("query", "instruction", "question")  # accepted names for the question column
# A query file's suffix and how it is read; the upload page and `manage.py import_queries` share these.
QUERY_FILE_TYPES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".txt": "lines"}
QUERY_FILE_DESCRIBED = "a JSON Lines or CSV file (or plain text, one query per line)"
QUERY_FILE_HINT = "upload a .jsonl, .csv or .txt file (save a spreadsheet as CSV UTF-8 first)"


class QueryImportError(Exception):
    """The query set was not imported; `problems` lists what to fix, each with its line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Row:
    line: int
    text: str
    input: str = ""
    domain: str = ""


def _rows_from_jsonl(content: str) -> tuple[list[Row], list[str]]:
    rows, problems = [], []
    for line_number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        if (depth := _nesting(line)) > MAX_NESTING:
            problems.append(
                f"line {line_number}: the JSON is nested {depth:,} levels deep; give each query as a flat "
                'object such as {"query": "..."}'
            )
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(f"line {line_number}: not valid JSON ({error.msg})")
            continue
        except RecursionError:  # deeper than the count above could tell (it does not parse strings)
            problems.append(
                f'line {line_number}: the JSON is nested too deeply; give a flat {{"query": "..."}}'
            )
            continue
        if not isinstance(record, dict):
            problems.append(f'line {line_number}: expected an object such as {{"query": "..."}}')
            continue
        rows.append(_row(line_number, record, problems))
    return [r for r in rows if r is not None], problems


def _nesting(line: str) -> int:
    """How deep the brackets of a JSON line go (brackets inside strings count too: an upper bound)."""
    depth = deepest = 0
    for char in line:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _rows_from_csv(content: str) -> tuple[list[Row], list[str]]:
    reader = csv.DictReader(io.StringIO(content))
    rows, problems = [], []
    last_line = 0  # where the last record read ended: a record that cannot be read starts after it
    try:
        fields = [name.strip().lower() for name in reader.fieldnames or []]
        if not any(name in fields for name in TEXT_FIELDS):
            return [], [f"line 1: the header needs a column named one of: {', '.join(TEXT_FIELDS)}"]
        last_line = reader.line_num
        for record in reader:
            last_line = reader.line_num
            cleaned = {(k or "").strip().lower(): (v or "") for k, v in record.items()}
            if isinstance(cleaned.get(""), list) or None in record:
                cleaned.pop("", None)  # cells beyond the header: ignored, as before
            if not any(isinstance(v, str) and v.strip() for v in cleaned.values()):
                continue
            rows.append(_row(reader.line_num, cleaned, problems))
    except csv.Error as error:
        # The reader cannot go on past this point (e.g. a field over its size limit, an unclosed quote).
        line = last_line + 1
        if "field larger than field limit" in str(error):
            problems.append(
                f"line {line}: a field is longer than {csv.field_size_limit():,} characters (a query may "
                f"have {MAX_QUERY_CHARS:,}); check for a missing closing quote, or shorten the field"
            )
        else:
            problems.append(f"line {line}: the CSV cannot be read ({error}); save it again as CSV UTF-8")
    return [r for r in rows if r is not None], problems


def _rows_from_lines(content: str) -> tuple[list[Row], list[str]]:
    rows, problems = [], []
    for line_number, line in enumerate(content.splitlines(), start=1):
        if line.strip():
            rows.append(_row(line_number, {"query": line}, problems))
    return [r for r in rows if r is not None], problems


def text_problem(value: str) -> str | None:
    """Why a text cannot be stored as it is (the databases refuse these characters), or None."""
    if "\x00" in value:
        return "contains a NUL character (\\u0000), which text cannot hold: remove it"
    if any("\ud800" <= char <= "\udfff" for char in value):
        return (
            "contains a lone surrogate (an escape such as \\ud800 without its pair), which is not text: "
            "remove it or give the character itself"
        )
    return None


def _row(line: int, record: dict, problems: list[str]) -> Row | None:
    text = next((record[name] for name in TEXT_FIELDS if name in record), None)
    if not isinstance(text, str) or not text.strip():
        problems.append(f"line {line}: the query is missing or empty (give it as {' or '.join(TEXT_FIELDS)})")
        return None
    if len(text) > MAX_QUERY_CHARS:
        problems.append(f"line {line}: the query is longer than {MAX_QUERY_CHARS:,} characters")
        return None
    task_input = record.get("input", "") or ""
    domain = record.get("domain", "") or ""
    if not isinstance(task_input, str) or not isinstance(domain, str):
        problems.append(f"line {line}: input and domain must be text")
        return None
    if len(task_input) > MAX_QUERY_CHARS:
        problems.append(f"line {line}: the input is longer than {MAX_QUERY_CHARS:,} characters")
        return None
    for label, value in (("query", text), ("input", task_input), ("domain", domain)):
        if problem := text_problem(value):
            problems.append(f"line {line}: the {label} {problem}")
            return None
    return Row(line, text.strip(), task_input.strip(), domain.strip())


def _findings(row: Row) -> list[dict]:
    """The PHI screen's findings in the query and its input, each naming its field."""
    return [
        {"field": field, **finding.as_dict()}
        for field, text in (("query", row.text), ("input", row.input))
        for finding in find_phi(text)
    ]


def import_queries(*, name: str, content: str, format: str, source: str = "", created_by=None) -> QuerySet:
    """Check every row, then store them all in one transaction (or nothing)."""
    parsers = {"jsonl": _rows_from_jsonl, "csv": _rows_from_csv, "lines": _rows_from_lines}
    if format not in parsers:
        raise QueryImportError([f"unknown format '{format}': use jsonl, csv or lines"])
    problems = []
    for label, value in (("name", name), ("file name", source)):
        if problem := text_problem(value):
            raise QueryImportError([f"the {label} {problem}"])
    if not name.strip():
        problems.append("give the query set a name")
    elif QuerySet.objects.filter(name=name.strip()).exists():
        problems.append(f"a query set named '{name.strip()}' already exists: choose another name")
    rows, row_problems = parsers[format](content)
    problems += row_problems
    domains = {d.slug: d for d in Domain.objects.all()} | {d.name.lower(): d for d in Domain.objects.all()}
    for row in rows:
        if row.domain and row.domain.lower() not in domains and row.domain not in domains:
            problems.append(f"line {row.line}: unknown domain '{row.domain}' (use a domain's slug or name)")
    if not rows and not row_problems:
        problems.append("the file holds no queries")
    if len(rows) > MAX_QUERIES:
        problems.append(f"at most {MAX_QUERIES:,} queries per set; this one has {len(rows):,}")
    if problems:
        raise QueryImportError(problems)
    with transaction.atomic():
        query_set = QuerySet.objects.create(name=name.strip(), source=source, created_by=created_by)
        queries = []
        for row in rows:
            findings = _findings(row)
            queries.append(
                Query(
                    query_set=query_set,
                    line=row.line,
                    text=row.text,
                    input=row.input,
                    domain=domains.get(row.domain) or domains.get(row.domain.lower()) if row.domain else None,
                    held_back=bool(findings),
                    phi_findings=findings,
                )
            )
        Query.objects.bulk_create(queries)
    return query_set


def import_query_file(*, name: str, file_name: str, data: bytes, created_by=None) -> QuerySet:
    """A query set from a file's bytes (JSON Lines, CSV, or one query per line in a .txt file): the
    file is checked as a whole (type, size, binary data, encoding), then every row, then stored."""
    try:
        content, format = read_text_file(
            file_name, data, accepted=QUERY_FILE_TYPES, described=QUERY_FILE_DESCRIBED, hint=QUERY_FILE_HINT
        )
    except UploadError as error:
        raise QueryImportError([str(error)]) from None
    return import_queries(name=name, content=content, format=format, source=file_name, created_by=created_by)
