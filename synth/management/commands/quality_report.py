"""Print the quality gate's funnel (each filter's count) and the coverage report."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from synth.models import GenerationRun
from synth.quality.diversity import coverage_report


class Command(BaseCommand):
    help = "The quality gate's funnel by filter and the domain coverage, for one run or overall."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--run", type=int, help="one run's report (default: every candidate)")
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")

    def handle(self, *args, run: int | None = None, json: bool = False, **options) -> None:
        selected = None
        if run is not None:
            selected = GenerationRun.objects.filter(pk=run).first()
            if selected is None:
                raise CommandError(f"There is no run {run}: give the number shown on the runs page.")
        report = coverage_report(run=selected)
        if json:
            self.stdout.write(_json(report.as_dict()))
            return
        f = report.funnel
        self.stdout.write(f"Quality report: {'run ' + str(run) if run is not None else 'all runs'}")
        self.stdout.write(
            f"Generated {f['generated']} · filtered {f['filtered']} · passed {f['passed']} (held back {f['held_back']})"
        )
        self.stdout.write("\nBy filter (filtered / flagged):")
        for row in report.by_filter:
            self.stdout.write(f"  {row['label']:<34} {row['filtered']:>6} / {row['flagged']}")
        self.stdout.write("\nCoverage of kept candidates (share vs target):")
        for d in report.domains:
            target = f"{d.target:.0%}" if d.target is not None else "-"
            self.stdout.write(f"  {d.name:<34} {d.count:>6}  {d.share:6.1%}  target {target}")
        self.stdout.write(
            f"\nEntropy {report.entropy:.2f} bits (normalized {report.normalized_entropy:.2f}); "
            f"distinct-1 {report.distinct['distinct_1']:.2f}, distinct-2 {report.distinct['distinct_2']:.2f}"
        )
        if report.novelty_median is not None:
            self.stdout.write(f"Novelty (ROUGE-L vs pool): median {report.novelty_median:.2f}")
        if report.below_target:
            self.stdout.write("Furthest below target: " + ", ".join(report.below_target))


def _json(data: dict) -> str:
    return json.dumps(data, indent=2)
