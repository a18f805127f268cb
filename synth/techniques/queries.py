"""Query sets for Distillation: uploaded as JSON Lines or CSV, or typed in one per line.

Every row is checked before anything is stored; a file with any bad row is refused as a whole, with
each problem's line number, so nothing is ever half-imported.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

from django.db import transaction

from synth.models import Domain, Query, QuerySet

MAX_QUERIES = 10_000
MAX_QUERY_CHARS = 8_000
TEXT_FIELDS = ("query", "instruction", "question")  # accepted names for the question column


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
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(f"line {line_number}: not valid JSON ({error.msg})")
            continue
        if not isinstance(record, dict):
            problems.append(f'line {line_number}: expected an object such as {{"query": "..."}}')
            continue
        rows.append(_row(line_number, record, problems))
    return [r for r in rows if r is not None], problems


def _rows_from_csv(content: str) -> tuple[list[Row], list[str]]:
    reader = csv.DictReader(io.StringIO(content))
    fields = [name.strip().lower() for name in reader.fieldnames or []]
    if not any(name in fields for name in TEXT_FIELDS):
        return [], [f"line 1: the header needs a column named one of: {', '.join(TEXT_FIELDS)}"]
    rows, problems = [], []
    for record in reader:
        cleaned = {(k or "").strip().lower(): (v or "") for k, v in record.items()}
        if not any(value.strip() for value in cleaned.values()):
            continue
        rows.append(_row(reader.line_num, cleaned, problems))
    return [r for r in rows if r is not None], problems


def _rows_from_lines(content: str) -> tuple[list[Row], list[str]]:
    return [Row(n, line.strip()) for n, line in enumerate(content.splitlines(), start=1) if line.strip()], []


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
    return Row(line, text.strip(), task_input.strip(), domain.strip())


def import_queries(*, name: str, content: str, format: str, source: str = "", created_by=None) -> QuerySet:
    """Check every row, then store them all in one transaction (or nothing)."""
    parsers = {"jsonl": _rows_from_jsonl, "csv": _rows_from_csv, "lines": _rows_from_lines}
    if format not in parsers:
        raise QueryImportError([f"unknown format '{format}': use jsonl, csv or lines"])
    problems = []
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
        Query.objects.bulk_create(
            Query(
                query_set=query_set,
                line=row.line,
                text=row.text,
                input=row.input,
                domain=domains.get(row.domain) or domains.get(row.domain.lower()) if row.domain else None,
            )
            for row in rows
        )
    return query_set
