"""`manage.py resume_exports`: queue again now the exports whose worker died (lease ran out)."""

from django.core.management.base import BaseCommand

from review.exports.watchdog import resume_stalled_exports


class Command(BaseCommand):
    help = "Queue again the exports whose worker stopped renewing its lease (e.g. it was killed)."

    def handle(self, *args, **options) -> None:
        resumed = resume_stalled_exports()
        for export in resumed:
            self.stdout.write(f"Queued export {export.pk} again.")
        self.stdout.write(f"{len(resumed)} export(s) queued again; a worker will build them.")
