"""The task worker: django-tasks-db's worker loop, made to ride out database outages of any length.

django-tasks-db's own `db_worker` exits on the first database error it cannot record (the pool's
"couldn't get a connection after 30 sec", or a refused connection without a pool). This worker waits
for the database instead, with backoff, says so once in its log when it goes and once when it is back,
closes the task rows whose outcome it could not record, and carries on. When it starts, and after each
outage, it picks up at once the work whose worker died (leases that ran out) and makes sure every
active run and export has its watchdog task (`core.signals.worker_ready`).
"""

from __future__ import annotations

import contextlib
import logging
import random
import time

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker

from core.signals import worker_ready

logger = logging.getLogger("core.worker")

# What a database that went away (or cannot be reached) raises, through Django or its pool.
DATABASE_DOWN = (OperationalError, InterfaceError)


class DatabaseUnavailable(Exception):
    """Recorded on a task row whose outcome was lost because the database went away (not raised)."""


class OutageTolerantWorker(Worker):
    def run(self) -> None:
        while self.running:
            try:
                self.look_after_stalled_work()
                super().run()
                return  # --batch or --max-tasks ended it
            except DATABASE_DOWN as error:
                self.wait_for_database(error)
                self.close_unrecorded_tasks()

    def look_after_stalled_work(self) -> None:
        """Resume work whose worker died and watch every active run and export (each app listens)."""
        for receiver, response in worker_ready.send_robust(sender=type(self)):
            if isinstance(response, DATABASE_DOWN):
                raise response
            if isinstance(response, Exception):
                logger.error("Resuming stalled work failed in %s: %r", receiver, response, exc_info=response)

    def wait_for_database(self, error: Exception) -> None:
        """Back off until the database answers again; log the outage once, and its end."""
        started = time.monotonic()
        logger.error(
            "The database is unreachable (%s: %s). Waiting for it; work carries on when it is back.",
            type(error).__name__,
            str(error).strip().splitlines()[0] if str(error).strip() else "no message",
        )
        delay = settings.WORKER_DATABASE_RETRY_BASE_SECONDS
        while not database_answers():
            time.sleep(delay * (0.5 + random.random() / 2))  # jitter: workers do not all retry at once
            delay = min(delay * 2, settings.WORKER_DATABASE_RETRY_MAX_SECONDS)
        logger.warning("The database is back after %.0f s; carrying on.", time.monotonic() - started)

    def close_unrecorded_tasks(self) -> None:
        """A task this worker ran while the database went away ended without its outcome recorded.

        Close its row as failed, saying why, so the task list tells the truth; a run's chunk or an
        export it was working on is resumed by its lease as after any lost worker."""
        from django_tasks_db.models import DBTaskResult

        try:
            for result in DBTaskResult.objects.filter(status="RUNNING"):
                if result.worker_ids and result.worker_ids[-1] == self.worker_id:
                    DBTaskResult.objects.filter(pk=result.pk, status="RUNNING").update(
                        status="FAILED",
                        finished_at=timezone.now(),
                        exception_class_path=f"{__name__}.DatabaseUnavailable",
                        traceback=(
                            "The database became unreachable while this task ran, so its outcome could "
                            "not be recorded. Work held under a lease (a run's chunk, an export) is "
                            "resumed when its lease runs out."
                        ),
                    )
        except DatabaseError:
            logger.exception("Could not close this worker's unrecorded task rows; carrying on.")


def database_answers() -> bool:
    """True once a fresh connection to the database runs a query."""
    _close_quietly()
    if connection.vendor == "postgresql" and connection.pool:
        # The pool would wait its full timeout (30 s) for a connection; a direct one answers at once.
        try:
            params = connection.get_connection_params()
            with connection.Database.connect(**params, connect_timeout=5) as probe:
                probe.execute("SELECT 1")
        except Exception:  # any failure means: not yet
            return False
        connection.close_pool()  # start afresh: the old pool's connections died with the server
        return True
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        _close_quietly()
        return False
    return True


def _close_quietly() -> None:
    # A connection that died with the server may fail even to close; it is dropped all the same.
    with contextlib.suppress(Exception):
        connection.close()
