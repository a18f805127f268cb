"""`manage.py resume_runs`: hand chunks whose worker died (lease ran out) to new tasks now."""

from django.core.management.base import BaseCommand

from synth.generation.watchdog import resume_stalled_runs


class Command(BaseCommand):
    help = "Resume generation-run chunks whose worker stopped renewing its lease (e.g. it was killed)."

    def handle(self, *args, **options) -> None:
        resumed = resume_stalled_runs()
        for chunk in resumed:
            self.stdout.write(f"Resumed run {chunk.run_id} chunk {chunk.index}.")
        self.stdout.write(f"{len(resumed)} chunk(s) resumed; a worker will take them.")
