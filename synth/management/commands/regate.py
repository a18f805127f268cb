"""Re-run the quality gate on existing candidates (after a change to the gate's settings)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from synth.models import Candidate, GenerationRun
from synth.quality.regate import regate


class Command(BaseCommand):
    help = (
        "Re-run the quality gate on existing candidates; each check's result is replaced, never duplicated."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--run", type=int, help="only this run's candidates (default: every candidate)")

    def handle(self, *args, run: int | None = None, **options) -> None:
        candidates = Candidate.objects.all()
        if run is not None:
            if not GenerationRun.objects.filter(pk=run).exists():
                raise CommandError(f"There is no run {run}: give the number shown on the runs page.")
            candidates = candidates.filter(run_id=run)
        summary = regate(candidates=candidates)
        self.stdout.write(
            f"Re-gated {summary.checked} candidate(s): {summary.now_passed} passed "
            f"({summary.now_held_back} held back), {summary.now_filtered} filtered; {summary.changed} changed."
        )
