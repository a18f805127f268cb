from django.core.management.base import BaseCommand

from synth.demo_data import DEMO_USERS, generate_demo_runs, load_demo_data


class Command(BaseCommand):
    help = (
        "Load the demo's domains, seed tasks, facts, sample query set, documents, reviewer guidelines, "
        "offline teacher and (unless --no-users) demo accounts; with --runs, also one small run per "
        "technique, generated here with the offline teacher and sent to review in full."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--no-users",
            action="store_true",
            help="Do not create the demo accounts (their passwords are public).",
        )
        parser.add_argument(
            "--runs",
            action="store_true",
            help="Also generate one small offline run per technique (once: existing demo runs are kept), "
            "so physicians have items to review at their first login.",
        )

    def handle(self, *args, no_users: bool = False, runs: bool = False, **options) -> None:
        created = load_demo_data(with_users=not no_users)
        self.stdout.write(
            f"Demo data ready: {created['domains']} domains, {created['seed_tasks']} seed tasks, "
            f"{created['facts']} facts, {created['query_sets']} query set, {created['documents']} documents, "
            f"{created.get('guidelines', 0)} reviewer guideline text and {created['users']} accounts "
            "created (existing ones kept)."
        )
        if runs:
            self.stdout.write("Demo runs (offline teacher, sent to review in full):")
            made = generate_demo_runs(report=self.stdout.write)
            if not made:
                self.stdout.write("  every technique already has its demo run; none added.")
        if not no_users:
            self.stdout.write("Demo accounts (username / password / role):")
            for username, password, role, *_ in DEMO_USERS:
                self.stdout.write(f"  {username:<11} {password:<22} {role}")
