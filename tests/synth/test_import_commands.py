"""`manage.py import_queries` and `manage.py import_documents`: good files are imported, PHI-screened;
bad ones are refused whole with a message naming what to fix, a non-zero exit, and nothing stored."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from synth.demo_data import SAMPLE_QUERY_SET
from synth.models import Domain, Query, QuerySet, SourceDocument

PHI_NOTE = "Patient John Smith, MRN 12345678, was seen for asthma and given a written action plan."


@pytest.fixture
def demo(db):
    call_command("seed_demo", "--no-users", stdout=StringIO())


def run(*argv: str) -> tuple[int, str, str]:
    """The command's exit code (as `manage.py` exits with it), stdout and its error message."""
    out = StringIO()
    try:
        call_command(*argv, stdout=out, stderr=StringIO())
    except CommandError as error:
        return error.returncode, out.getvalue(), str(error)
    return 0, out.getvalue(), ""


def imported_sets():
    return QuerySet.objects.exclude(name=SAMPLE_QUERY_SET)


def documents_now() -> set[int]:
    return set(SourceDocument.objects.values_list("pk", flat=True))


# import_queries -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("ed.jsonl", b'{"query": "Define shock.", "domain": "cardiology"}\n{"question": "Define sepsis."}\n'),
        ("ed.csv", b"question,domain\nDefine shock.,cardiology\nDefine sepsis.,\n"),
        ("ed.txt", b"Define shock.\n\nDefine sepsis.\n"),
    ],
)
def test_import_queries_reads_json_lines_csv_and_one_query_per_line(demo, tmp_path, filename, content):
    path = tmp_path / filename
    path.write_bytes(content)
    code, out, _ = run("import_queries", str(path), "--name", "ED questions")
    assert code == 0
    assert "Query set 'ED questions' added with 2 queries" in out
    query_set = imported_sets().get()
    assert list(query_set.queries.order_by("line").values_list("text", flat=True)) == [
        "Define shock.",
        "Define sepsis.",
    ]
    assert query_set.source == filename


def test_import_queries_holds_back_a_query_with_phi_and_says_so(demo, tmp_path):
    path = tmp_path / "q.txt"
    path.write_text(f"Define shock.\n{PHI_NOTE} What next?\n")
    code, out, _ = run("import_queries", str(path), "--name", "with phi")
    assert code == 0 and "line 2: held back, the PHI screen found" in out
    assert Query.objects.get(query_set__name="with phi", line=2).held_back


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("q.csv", "question\nDéfine shock.\n".encode("latin-1"), "'q.csv' is not UTF-8 text (line 2)"),
        ("q.jsonl", b"", "'q.jsonl' is empty"),
        ("q.jsonl", b"  \n\n", "'q.jsonl' is empty"),
        (
            "q.jsonl",
            b'{"query": "Define shock."}\n{"query": "Define sepsis."}\n{"query": "Define SIRS.}\n',
            "line 3: not valid JSON",
        ),
        (
            "q.jsonl",
            b'{"query": "Define shock.", "domain": "dermatology"}\n',
            "line 1: unknown domain 'dermatology'",
        ),
        ("q.xlsx", b"PK\x03\x04", "'q.xlsx' is not a JSON Lines or CSV file"),
        ("q.csv", b"question\n\x00\x01binary", "'q.csv' holds binary data"),
    ],
)
def test_import_queries_refuses_a_bad_file_whole(demo, tmp_path, filename, content, message):
    path = tmp_path / filename
    path.write_bytes(content)
    code, out, err = run("import_queries", str(path), "--name", "bad")
    assert code == 1
    assert "Nothing was imported" in err and message in err, err
    assert not imported_sets().exists() and not out.strip()


def test_import_queries_refuses_an_oversized_file_before_reading_it(demo, tmp_path, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    path = tmp_path / "big.txt"
    path.write_text("Is this too long?\n" * 100)
    code, _, err = run("import_queries", str(path), "--name", "big")
    assert code == 1 and "'big.txt' is larger than the 1 kB limit: split it into smaller files" in err
    assert not imported_sets().exists()


def test_import_queries_refuses_a_name_in_use_and_a_missing_file(demo, tmp_path):
    path = tmp_path / "q.txt"
    path.write_text("Define shock.\n")
    code, _, err = run("import_queries", str(path), "--name", SAMPLE_QUERY_SET)
    assert code == 1 and "already exists: choose another name" in err
    code, _, err = run("import_queries", str(tmp_path / "none.csv"), "--name", "x")
    assert code == 1 and "No file at" in err
    assert not imported_sets().exists()


# import_documents -----------------------------------------------------------------------------------


def test_import_documents_reads_text_markdown_and_json_lines_and_screens_each(demo, tmp_path):
    before = documents_now()
    (tmp_path / "asthma-plan.txt").write_text("Asthma review: inhaler technique checked, plan given.")
    (tmp_path / "copd.md").write_text(
        "# COPD follow-up\n\nSpirometry confirmed obstruction; refer to rehab.\n"
    )
    lines = [
        {"title": "Sepsis bundle", "text": "Sepsis: cultures, antibiotics within the hour.", "domain": "infectious-disease"},
        {"title": "Named patient", "text": PHI_NOTE},
    ]  # fmt: skip
    (tmp_path / "notes.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    code, out, _ = run(
        "import_documents", *(str(tmp_path / n) for n in ("asthma-plan.txt", "copd.md", "notes.jsonl")),
        "--domain", "respiratory",
    )  # fmt: skip
    assert code == 0 and "4 documents added" in out
    added = SourceDocument.objects.exclude(pk__in=before)
    titles = {d.title: d for d in added}
    assert set(titles) == {"asthma-plan.txt", "COPD follow-up", "Sepsis bundle", "Named patient"}
    assert titles["COPD follow-up"].domain.slug == "respiratory"
    assert titles["Sepsis bundle"].domain.slug == "infectious-disease"  # the line's own domain wins
    assert titles["Named patient"].held_back and titles["Named patient"].phi_findings
    assert not titles["asthma-plan.txt"].held_back
    assert "Named patient: held back, the PHI screen found" in out and "COPD follow-up: clear" in out


@pytest.mark.parametrize(
    ("files", "argv", "message"),
    [
        ({"a.txt": b"Asthma care."}, ["--domain", "dermatology"], "No domain 'dermatology'"),
        (
            {
                "a.txt": b"Asthma care.",
                "b.jsonl": b'{"title": "x", "text": "y"}\n{"title": "z", "text": "w"\n',
            },
            [],
            "'b.jsonl' line 2: not valid JSON",
        ),
        (
            {"a.txt": b"Asthma care.", "b.md": "Caf\u00e9 note".encode("latin-1")},
            [],
            "'b.md' is not UTF-8 text",
        ),
        ({"a.txt": b"Asthma care.", "b.txt": b""}, [], "'b.txt' is empty"),
        (
            {"a.txt": b"Asthma care.", "b.pdf": b"%PDF-1.7"},
            [],
            "'b.pdf' is not a plain-text, Markdown or JSON Lines",
        ),
        (
            {"a.jsonl": b'{"title": "x", "text": "y", "domain": "dermatology"}\n'},
            [],
            "line 1: unknown domain",
        ),
        (
            {"a.txt": b"Asthma care.", "b.txt": b"x" * 20_001},
            [],
            "'b.txt': The document is longer than 20,000",
        ),
    ],
)
def test_import_documents_refuses_the_whole_import_for_one_bad_file(demo, tmp_path, files, argv, message):
    before = documents_now()
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    code, _, err = run("import_documents", *(str(tmp_path / n) for n in files), *argv)
    assert code == 1
    assert "Nothing was imported" in err and message in err, err
    assert documents_now() == before


def test_import_documents_refuses_an_oversized_file(demo, tmp_path, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    before = documents_now()
    (tmp_path / "ok.txt").write_text("Asthma care.")
    (tmp_path / "big.txt").write_text("Asthma care. " * 100)
    code, _, err = run("import_documents", str(tmp_path / "ok.txt"), str(tmp_path / "big.txt"))
    assert code == 1 and "'big.txt' is larger than the 1 kB limit" in err
    assert documents_now() == before
    assert Domain.objects.exists()  # (the demo is still there: nothing else was touched)


def test_manage_py_exits_non_zero_with_the_message_on_stderr(tmp_path):
    """(The file is checked before the database is read, so this needs no migrated database.)"""
    (tmp_path / "empty.csv").write_bytes(b"")
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}"}
    root = Path(__file__).resolve().parents[2]
    for argv, message in (
        (["import_queries", str(tmp_path / "empty.csv"), "--name", "x"], "'empty.csv' is empty"),
    ):
        done = subprocess.run(
            [sys.executable, "manage.py", *argv],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 1 and message in done.stderr, done.stderr
