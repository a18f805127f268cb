"""Template access to the quality gate's flags (templates/review/flags.html)."""

from __future__ import annotations

from django import template

from synth.quality.flags import flags_for

register = template.Library()


@register.simple_tag
def quality_flags(candidate):
    return flags_for(candidate=candidate)


@register.simple_tag
def coverage(run=None):
    """The coverage report with its charts' geometry, for one run or everything."""
    from synth.quality.charts import domain_chart, novelty_chart
    from synth.quality.diversity import coverage_report

    report = coverage_report(run=run or None)
    return {"report": report, "domains": domain_chart(report), "novelty": novelty_chart(report)}
