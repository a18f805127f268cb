"""Drafts: a reviewer's unsent work on a held item, autosaved; never written over a submitted decision."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from review.models import Assignment, Decision, Preference, RejectReason, ReviewDraft
from review.queue.errors import NotYours, ReviewError


def save_draft(
    *,
    reviewer,
    assignment_id: int,
    panel: str = "",
    instruction: str = "",
    task_input: str = "",
    output: str = "",
    edited: bool = False,
    reasons: Iterable[str] = (),
    comment: str = "",
    preference: str = "",
) -> ReviewDraft:
    """Autosave the reviewer's unsent work on a held item. Refused once the item is decided."""
    with transaction.atomic():
        assignment = (
            Assignment.objects.select_for_update(of=("self",))
            .filter(pk=assignment_id, reviewer=reviewer)
            .first()
        )
        if assignment is None:
            raise NotYours("This item is not assigned to you; the draft was not saved.")
        if (
            assignment.status != Assignment.Status.ACTIVE
            or Decision.objects.filter(assignment=assignment).exists()
        ):
            raise ReviewError("You already decided on this item; the draft was not saved over your decision.")
        if preference and preference not in Preference.values:
            preference = ""
        draft, _ = ReviewDraft.objects.update_or_create(
            assignment=assignment,
            defaults={
                "panel": panel if panel in ("edit", "reject") else "",
                "instruction": instruction,
                "input": task_input,
                "output": output,
                "edited": edited,
                "reasons": sorted({r for r in reasons if r in RejectReason.values}),
                "comment": comment,
                "preference": preference,
            },
        )
        return draft
