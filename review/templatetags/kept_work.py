"""Template access to the scope and key of a reviewer's kept work (review/kept_work.py)."""

from __future__ import annotations

from django import template

from review import kept_work

register = template.Library()


@register.simple_tag
def kept_work_scope(user) -> str:
    return kept_work.kept_work_scope(user) if user.is_authenticated else ""


@register.simple_tag
def kept_work_key(user) -> str:
    return kept_work.kept_work_key(user) if user.is_authenticated else ""
