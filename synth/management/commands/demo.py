import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from core.processes import run_together
from synth.demo_data import DEMO_USERS


class Command(BaseCommand):
    help = "Run the demo: migrate, load demo data with one small run per technique, then the web server and one task worker until Ctrl-C."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="Address for the web server.")

    def handle(self, *args, addr: str, **options) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo", runs=True, stdout=self.stdout)
        manage = [sys.executable, "manage.py"]
        ready = "\n".join(
            [
                self.style.SUCCESS(f"\nThe studio is running at http://{addr}/"),
                "Log in as one of: " + ", ".join(f"{u} / {p}" for u, p, *_ in DEMO_USERS),
                "Press Ctrl-C to stop the web server and the worker.\n",
            ]
        )
        status = run_together(
            [
                ("task worker", [*manage, "worker", "--no-reload", "--interval", "0.5"]),
                ("web server", [*manage, "runserver", "--noreload", addr]),
            ],
            say=self.stdout.write,
            ready=ready,
        )
        if status:
            raise CommandError("A process kept stopping; see its output above.", returncode=status)
