"""Template formatting of the quality gate's flags (templates/review/flags.html)."""

from __future__ import annotations

from django import template

from synth.quality.flags import flags_for

register = template.Library()


@register.simple_tag
def quality_flags(candidate):
    return flags_for(candidate=candidate)
