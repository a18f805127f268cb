"""What synth's report pages read: the quality gate's funnel and the coverage of the kept candidates."""

from __future__ import annotations

from synth.models import GenerationRun
from synth.quality.charts import coverage_charts
from synth.quality.diversity import CoverageReport, coverage_report


def coverage_overview(*, run: GenerationRun | None = None) -> CoverageReport:
    """The funnel by filter and the coverage report, for one run or (None) everything."""
    return coverage_report(run=run or None)


def coverage_section(*, run: GenerationRun | None = None) -> dict:
    """The coverage section's context: the report and its charts' data (templates/review/coverage.html)."""
    report = coverage_overview(run=run)
    names = {d.slug: d.name for d in report.domains}
    below = [names.get(slug, slug) for slug in report.below_target]
    return {"report": report, "charts": coverage_charts(report), "below_target": below}
