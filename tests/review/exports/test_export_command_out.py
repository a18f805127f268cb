"""`manage.py export --out`: a bad folder gets a message that says what to do, never a traceback, and
nothing is recorded or written."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from review.models import Export
from tests.conftest import ROOT, database_url_for_subprocess
from tests.review.journey import decide, generate, logged_in, seed_demo


@pytest.fixture
def approved(db):
    users = seed_demo()
    generate()
    decide(logged_in(users["physician"]), "accept")


def refused(out: str, match: str) -> None:
    with pytest.raises(CommandError, match=match):
        call_command("export", "--format", "hf", "--out", out)
    assert not Export.objects.exists()


def test_a_missing_parent_says_to_create_it(approved, tmp_path):
    out = tmp_path / "nowhere" / "deeper" / "sft"
    refused(str(out), rf"the folder {out.parent} does not exist. Create it first \(mkdir -p {out.parent}\)")
    assert not (tmp_path / "nowhere").exists()


def test_a_file_on_the_way_says_so(approved, tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine")
    refused(str(blocker / "sft"), rf"{blocker} is a file, not a folder")
    refused(str(blocker / "a" / "sft"), rf"{blocker} is a file, not a folder")
    refused(str(blocker), "already exists and is not an empty folder")
    assert blocker.read_text() == "mine"


def test_a_name_the_file_system_refuses_says_so(approved, tmp_path):
    refused(str(tmp_path / ("x" * 300)), r"cannot write there \(File name too long\). Choose another folder.")
    refused(str(tmp_path / "a\x00b"), r"cannot write there \(embedded null byte\). Choose another folder.")


def test_an_empty_folder_is_used_and_a_relative_path_resolved(approved, tmp_path, monkeypatch, capsys):
    (tmp_path / "empty").mkdir()
    call_command("export", "--out", str(tmp_path / "empty"))
    monkeypatch.chdir(tmp_path)
    call_command("export", "--out", "relative")
    assert "Wrote 1 records" in capsys.readouterr().out
    assert (tmp_path / "empty" / "train.jsonl").exists() and (tmp_path / "relative" / "train.jsonl").exists()


def test_the_command_line_prints_the_message_without_a_traceback(transactional_db, settings, tmp_path):
    seed_demo()
    done = subprocess.run(
        [sys.executable, "manage.py", "export", "--out", str(tmp_path / "missing" / "sft")],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url_for_subprocess(), "DEBUG": "0"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"CommandError: --out {tmp_path / 'missing' / 'sft'}: the folder" in done.stderr
    assert "Create it first" in done.stderr
