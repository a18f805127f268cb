"""`{% records_url batch=3 verdict="reject" %}`: a link into the record browser (review/selectors/records.py)."""

from __future__ import annotations

from django import template

from review.selectors import records

register = template.Library()


@register.simple_tag
def records_url(**filters) -> str:
    return records.records_url(**filters)
