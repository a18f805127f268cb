"""How many PostgreSQL connections `serve` may open on one machine, against how many the server accepts.

`serve` runs two web processes per core plus one by default: on a large machine that is more
connections than a default PostgreSQL (max_connections 100) accepts, and the requests past the limit
would fail under load, not at start. So `serve` counts first and refuses to start, saying what to change.
"""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError, connection

from core.own_connection import connection_outside_the_pool

# A task worker holds one connection, and one more while it builds an export: the reader that reads the
# pages ahead opens its own (review.exports.records.read_ahead).
TASK_WORKER_CONNECTIONS = 2


def pool_size() -> int | None:
    """The largest size of each process's connection pool, None without one (config/settings.py)."""
    pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
    return pool.get("max_size") if isinstance(pool, dict) else None


def per_web_process(threads: int, pool: int | None) -> int:
    """The most connections one web process opens at once: Django holds one per thread, and the
    process's pool (if any, of largest size `pool`) never opens more."""
    return threads if pool is None else min(threads, pool)


def connections_needed(*, web_workers: int, threads: int, task_workers: int, pool: int | None) -> int:
    """The most connections these processes open at once."""
    return web_workers * per_web_process(threads, pool) + task_workers * TASK_WORKER_CONNECTIONS


def connections_accepted() -> int | None:
    """How many connections PostgreSQL accepts from non-superusers (max_connections less those it
    reserves); None on another database, or when the server cannot be reached now (the processes
    wait for it anyway)."""
    if connection.vendor != "postgresql":
        return None
    # Not from the pool, and not for long: a pool waits for a server that is down, and so would `serve`.
    own = connection_outside_the_pool(connect_timeout=5)
    try:
        with own.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('max_connections')::int"
                " - current_setting('superuser_reserved_connections')::int"
            )
            return cursor.fetchone()[0]
    except DatabaseError:
        return None
    finally:
        own.close()


def over_budget_message(*, web_workers: int, threads: int, task_workers: int) -> str:
    """Why these processes must not start ("" when PostgreSQL accepts them all, or cannot be asked)."""
    pool = pool_size()
    needed = connections_needed(
        web_workers=web_workers, threads=threads, task_workers=task_workers, pool=pool
    )
    accepted = connections_accepted()
    if accepted is None or needed <= accepted:
        return ""
    each = per_web_process(threads, pool)
    fitting = max(0, (accepted - task_workers * TASK_WORKER_CONNECTIONS) // each)
    return (
        f"This machine would open up to {needed} database connections ({web_workers} web processes x "
        f"{each}, {task_workers} task worker(s) x {TASK_WORKER_CONNECTIONS}), but PostgreSQL accepts "
        f"{accepted} (max_connections less its superuser reserve). Run fewer web processes "
        f"(--web-workers {fitting} or fewer) or task workers, or raise max_connections in "
        "postgresql.conf. Other machines running serve against the same database count too."
    )
