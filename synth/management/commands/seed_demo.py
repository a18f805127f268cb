from django.core.management.base import BaseCommand

from synth.demo_data import DEMO_USERS, load_demo_data


class Command(BaseCommand):
    help = (
        "Load the demo's domains, seed tasks, facts, sample query set, documents, offline teacher and "
        "(unless --no-users) demo accounts."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--no-users",
            action="store_true",
            help="Do not create the demo accounts (their passwords are public).",
        )

    def handle(self, *args, no_users: bool = False, **options) -> None:
        created = load_demo_data(with_users=not no_users)
        self.stdout.write(
            f"Demo data ready: {created['domains']} domains, {created['seed_tasks']} seed tasks, "
            f"{created['facts']} facts, {created['query_sets']} query set, {created['documents']} documents "
            f"and {created['users']} accounts created (existing ones kept)."
        )
        if not no_users:
            self.stdout.write("Demo accounts (username / password / role):")
            for username, password, role, *_ in DEMO_USERS:
                self.stdout.write(f"  {username:<11} {password:<22} {role}")
