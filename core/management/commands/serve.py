import os
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from core.connection_budget import over_budget_message
from core.processes import run_together

# Threads per web process: one (see default_web_workers).
DEFAULT_THREADS = 1


def default_web_workers() -> int:
    """gunicorn's own advice, two processes per core plus one: a request's work here is mostly Python,
    and threads of one process take turns on its interpreter lock (each query's answer waits for the
    lock), which measured slower than processes (bench/README.md, "Processes, not threads")."""
    return 2 * (os.cpu_count() or 1) + 1


class Command(BaseCommand):
    help = (
        "Run the studio as in production: gunicorn for the web (static files through whitenoise) and "
        "N task workers, until a stop signal. Run it on every machine against one PostgreSQL."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--bind", default="0.0.0.0:8000", help="Address for the web server.")
        parser.add_argument(
            "--web-workers",
            type=int,
            default=default_web_workers(),
            help="gunicorn worker processes (default: two per core plus one).",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=DEFAULT_THREADS,
            help="Threads per gunicorn worker (default 1: processes serve this app faster than threads).",
        )
        parser.add_argument(
            "--task-workers", type=int, default=1, help="Background task workers (db_worker)."
        )
        parser.add_argument("--no-web", action="store_true", help="Only task workers, no web server.")
        parser.add_argument("--certfile", help="TLS certificate, when gunicorn terminates HTTPS itself.")
        parser.add_argument(
            "--max-restarts",
            type=int,
            default=5,
            help="A process that stops on its own is started again, up to this many times within "
            "--restart-window seconds; then everything stops (exit status 1).",
        )
        parser.add_argument("--restart-window", type=float, default=60.0, help="Seconds; see --max-restarts.")
        parser.add_argument("--keyfile", help="TLS private key, with --certfile.")

    def handle(
        self,
        *args,
        bind,
        web_workers,
        threads,
        task_workers,
        no_web,
        certfile,
        keyfile,
        max_restarts,
        restart_window,
        **options,
    ):
        if not settings.PRODUCTION:
            self.stderr.write("PRODUCTION is not set: running without the production settings.")
        else:
            # Refuses to start with an insecure configuration rather than warning into a log nobody reads.
            call_command("check", deploy=True, fail_level="WARNING")
        if bool(certfile) != bool(keyfile):
            raise CommandError("Give both --certfile and --keyfile, or neither.")
        if min(web_workers, threads) < 1 or task_workers < 0:
            raise CommandError("Give at least one web worker and thread, and zero or more task workers.")
        if max_restarts < 0 or restart_window <= 0:
            raise CommandError("Give --max-restarts of zero or more and a positive --restart-window.")
        too_many = over_budget_message(
            web_workers=0 if no_web else web_workers, threads=threads, task_workers=task_workers
        )
        if too_many:
            raise CommandError(too_many)

        commands = []
        if not no_web:
            call_command("collectstatic", interactive=False, verbosity=0)
            web = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", bind]
            # gthread even with one thread: idle keep-alive connections wait in its poller, not in a worker.
            web += ["--workers", str(web_workers), "--threads", str(threads), "--worker-class", "gthread"]
            web += ["--access-logfile", "-"]
            if certfile:
                web += ["--certfile", certfile, "--keyfile", keyfile]
            commands.append(("web server (gunicorn)", web))
        # `worker` (synth/worker.py) waits out a database outage instead of exiting like `db_worker`.
        worker = [sys.executable, "manage.py", "worker", "--no-reload"]
        commands += [(f"task worker {n}", worker) for n in range(1, task_workers + 1)]
        if not commands:
            raise CommandError("Nothing to run: --no-web with --task-workers 0.")
        scheme = "https" if certfile else "http"
        ready = f"Serving at {scheme}://{bind}/ " if not no_web else ""
        status = run_together(
            commands,
            say=self.stdout.write,
            ready=ready + f"with {task_workers} task worker(s). Stop with Ctrl-C.",
            max_restarts=max_restarts,
            restart_window=restart_window,
        )
        if status:
            raise CommandError("A process kept stopping; see its output above.", returncode=status)
