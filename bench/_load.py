"""Shared by bench/export.py and bench/agreement.py: a throwaway PostgreSQL and COPY-loaded reviewed records."""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.postgres_plugin import ThrowawayPostgres  # noqa: E402


class BenchPostgres(ThrowawayPostgres):
    port = 54343  # not the test suite's (54329) nor the other benchmarks': they may run at once


def setup_django(url: str) -> None:
    os.environ.update(
        {"DATABASE_URL": url, "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(60), "DATABASE_POOL": "0"}
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _defaults(model, given: set[str]) -> dict:
    """A value for every other NOT NULL column: the field's default, else NULL or ''."""
    values = {}
    for f in model._meta.concrete_fields:
        if f.primary_key or f.column in given:
            continue
        value = f.get_default() if f.has_default() else (None if f.null else "")
        values[f.column] = json.dumps(value) if f.get_internal_type() == "JSONField" else value
    return values


def _instruction(n: int) -> str:
    return f"Benchmark task {n}: which ICD-10-CM chapter holds code A{n % 100:02d}, and why?"


def _output(n: int) -> str:
    return (
        f"Answer {n}: chapter 1, certain infectious and parasitic diseases (A00-B99). "
        "Codes starting with A or B belong there; confirm against the tabular list."
    )


def _other(n: int) -> str:
    return f"Other answer {n}."


def load_candidates(count: int, *, pairs: bool = False, gated: bool = True) -> tuple:
    """COPY `count` passed candidates of one completed run, spread over the demo domains; returns (run, batch).

    `gated`: stamped as the quality gate stamps a candidate whose texts the PHI screen found free of
    PHI (Candidate.phi_free_under), as every candidate that reached review was. The texts differ only
    in their numbers, so the screen's verdict on a spread of them is checked here, not assumed.
    """
    from django.db import connection
    from django.utils import timezone

    from review.models import Batch
    from synth.models import Candidate, Domain, GenerationRun, Teacher
    from synth.quality.phi import SCREEN_VERSION, find_phi

    if gated:
        for n in {0, 1, 7, 42, 99, 100, 12_345, 999_999, count - 1}:
            texts = [_instruction(n), _output(n), _other(n) if pairs else ""]
            assert not any(find_phi(text) for text in texts), f"benchmark text {n} holds PHI: {texts}"

    teacher = Teacher.objects.get(name="offline")
    domains = list(Domain.objects.values_list("pk", flat=True))
    run = GenerationRun.objects.create(
        technique="self_instruct", teacher=teacher, requested_count=count, sample_rate=1.0, status="completed"
    )
    batch = Batch.objects.create(run=run, sample_rate=1.0, passed_count=count)
    now = timezone.now()
    given = {
        "run_id": run.pk,
        "technique": "self_instruct",
        "input": "",
        "status": "passed",
        "held_back": False,
        "teacher_provider": "offline",
        "teacher_model": "offline",
        "provenance": "{}",
        "created_at": now,
        "phi_free_under": SCREEN_VERSION if gated else "",
    }
    per_row = ("sequence", "domain_id", "instruction", "output", "content_hash", "rejected_output")
    row_defaults = _defaults(Candidate, set(given) | set(per_row))
    columns = [f.column for f in Candidate._meta.concrete_fields if not f.primary_key]
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {Candidate._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for n in range(count):
            row = {
                **given,
                **row_defaults,
                "sequence": n + 1,
                "domain_id": domains[n % len(domains)],
                "instruction": _instruction(n),
                "output": _output(n),
                "content_hash": f"{n:064x}",
                "rejected_output": _other(n) if pairs else "",
            }
            copy.write_row([row[c] for c in columns])
    return run, batch


def insert_select(model, columns_sql: dict[str, str], from_sql: str, params: list) -> None:
    """INSERT INTO model (...) SELECT ... FROM ..., with defaults for every column not given."""
    from django.db import connection

    defaults = _defaults(model, set(columns_sql))
    columns = list(columns_sql) + list(defaults)
    # The expressions use SQL's % (modulo); only the defaults (and `params`) are placeholders.
    select = [v.replace("%", "%%") for v in columns_sql.values()] + ["%s"] * len(defaults)
    if not params:
        from_sql = from_sql.replace("%", "%%")
    sql = f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(select)} {from_sql}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*defaults.values(), *params])


def make_reviewers(count: int) -> list:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    User.objects.bulk_create(User(username=f"physician{n:03d}", password="!") for n in range(count))  # noqa: S106 (unusable password)
    return list(User.objects.filter(username__startswith="physician").order_by("pk"))


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
