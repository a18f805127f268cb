"""`manage.py serve` counts the database connections its processes may open, and refuses to start
more than PostgreSQL accepts, saying what to change."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from core.connection_budget import connections_accepted, connections_needed, over_budget_message, pool_size
from core.management.commands.serve import DEFAULT_THREADS, default_web_workers
from tests.conftest import database_url_for_subprocess

ROOT = Path(__file__).resolve().parent.parent


def test_it_counts_a_connection_per_thread_up_to_the_pools_size():
    assert connections_needed(web_workers=5, threads=1, task_workers=1, pool=None) == 5 + 2
    assert connections_needed(web_workers=5, threads=8, task_workers=2, pool=None) == 40 + 4
    assert connections_needed(web_workers=5, threads=8, task_workers=2, pool=4) == 20 + 4
    assert connections_needed(web_workers=0, threads=1, task_workers=3, pool=4) == 6  # serve --no-web


def test_it_reads_the_pools_size_from_the_settings():
    # config/settings.py: a pool of up to four on PostgreSQL (DATABASE_POOL on by default), none on SQLite.
    assert pool_size() == (4 if connection.vendor == "postgresql" else None)


def test_the_defaults_of_this_machine_fit(db):
    assert (
        over_budget_message(web_workers=default_web_workers(), threads=DEFAULT_THREADS, task_workers=1) == ""
    )


def test_it_reads_what_postgresql_accepts_and_asks_no_other_database(db):
    if connection.vendor != "postgresql":
        assert connections_accepted() is None  # SQLite: one process writes at a time anyway
        return
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_connections")
        most = int(cursor.fetchone()[0])
        cursor.execute("SHOW superuser_reserved_connections")
        reserved = int(cursor.fetchone()[0])
    assert connections_accepted() == most - reserved


@pytest.mark.postgres_only
def test_serve_refuses_to_start_more_processes_than_postgresql_accepts(db, tmp_path):
    accepted = connections_accepted()
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"PRODUCTION", "DJANGO_ALLOW_ASYNC_UNSAFE"}},
        "DATABASE_URL": database_url_for_subprocess(),
        "DEBUG": "0",
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "serve", "--web-workers", str(accepted + 10), "--bind", "127.0.0.1:9"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert f"would open up to {accepted + 12} database connections" in message
    assert f"PostgreSQL accepts {accepted}" in message
    assert f"--web-workers {accepted - 2} or fewer" in message
    assert "Serving at" not in result.stdout  # nothing was started
