"""Template formatting of the quality gate's flags (templates/review/flags.html) and coverage charts."""

from __future__ import annotations

from django import template

from synth.quality.charts import domain_chart, novelty_chart
from synth.quality.flags import flags_for

register = template.Library()


@register.simple_tag
def quality_flags(candidate):
    return flags_for(candidate=candidate)


@register.simple_tag
def coverage_charts(report):
    """The coverage report (synth.selectors.coverage_overview, read by the view) with its charts' geometry."""
    return {"report": report, "domains": domain_chart(report), "novelty": novelty_chart(report)}
