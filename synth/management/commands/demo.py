import signal
import subprocess
import sys
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from synth.demo_data import DEMO_USERS


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt  # every stop signal stops the demo the way Ctrl-C does


class Command(BaseCommand):
    help = "Run the demo: migrate, load demo data, then the web server and one task worker until Ctrl-C."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="Address for the web server.")

    def handle(self, *args, addr: str, **options) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo", stdout=self.stdout)
        manage = [sys.executable, "manage.py"]
        processes = [
            subprocess.Popen([*manage, "db_worker", "--no-reload", "--interval", "0.5"]),
            subprocess.Popen([*manage, "runserver", "--noreload", addr]),
        ]
        self.stdout.write(self.style.SUCCESS(f"\nThe studio is running at http://{addr}/"))
        self.stdout.write("Log in as one of: " + ", ".join(f"{u} / {p}" for u, p, *_ in DEMO_USERS))
        self.stdout.write("Press Ctrl-C to stop the web server and the worker.\n")
        for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(stop_signal, _stop)
        try:
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
            self.stderr.write("A demo process stopped on its own; stopping the other one.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
        self.stdout.write("Stopped.")
