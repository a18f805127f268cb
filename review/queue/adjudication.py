"""Adjudication: a senior physician settles an item whose reviewers disagree."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from review.models import Adjudication, Decision, ReviewItem, Verdict
from review.queue.decisions import check_preference
from review.queue.errors import ReviewError
from review.queue.revisions import store_revision


def _proposes_an_edit(item: ReviewItem) -> bool:
    return item.decisions.filter(verdict=Verdict.EDIT).exists()


def adjudicate(
    *,
    adjudicator,
    item_id: int,
    verdict: str,
    preference: str = "",
    instruction: str | None = None,
    task_input: str | None = None,
    output: str | None = None,
    based_on: int | None = None,
    comment: str = "",
    revision_id: int | None = None,
) -> Adjudication:
    """A senior physician settles a disputed item; the reviewers' own verdicts stay as they were.

    To accept, the senior names the text: `revision_id` a reviewer's edit, or 0 for the original
    (None, naming nothing, is refused when a reviewer proposed an edit).
    """
    with transaction.atomic():
        item = (
            ReviewItem.objects.select_for_update(of=("self",))
            .select_related("candidate")
            .filter(pk=item_id)
            .first()
        )
        if item is None:
            raise ReviewError("There is no such item.")
        if item.status != ReviewItem.Status.NEEDS_ADJUDICATION:
            raise ReviewError(
                "This item is not waiting for adjudication (someone may have settled it already)."
            )
        if Decision.history.filter(item=item, reviewer=adjudicator).exists():
            raise ReviewError(
                "You reviewed this item yourself: another senior physician settles it, "
                "so that the adjudication stays independent."
            )
        proposed = None
        if verdict == Verdict.ACCEPT and revision_id:
            # Accepting one reviewer's edit as it stands (an edit whose decision was undone is gone).
            proposed = item.decisions.filter(revision_id=revision_id).select_related("revision").first()
            if proposed is None:
                raise ReviewError("That edit does not belong to this item.")
            if item.candidate.is_pair:
                # A pair's edit rewrote the response its author preferred: that response stays the chosen one.
                preference = preference or proposed.preference
                if preference != proposed.preference:
                    raise ReviewError(
                        f"That edit rewrites the {proposed.get_preference_display().lower()}: choose it as "
                        "the preferred response, or write the final text yourself."
                    )
        preference = check_preference(item, verdict, preference)
        revision = None
        if verdict == Verdict.EDIT:
            revision = store_revision(
                item, adjudicator, instruction, task_input, output, based_on, preference
            )
        elif proposed is not None:
            revision = proposed.revision
        elif verdict == Verdict.ACCEPT and revision_id is None and _proposes_an_edit(item):
            # Accepting "the item" is ambiguous once a reviewer proposed another text: say which.
            raise ReviewError(
                "The reviewers approved different texts: choose the text to accept (the original or a "
                "reviewer's edit), or write the final text yourself."
            )
        elif verdict not in (Verdict.ACCEPT, Verdict.REJECT):
            raise ReviewError("Choose accept, edit or reject.")
        comment = comment.strip()
        if verdict == Verdict.REJECT and not comment:
            raise ReviewError("Say why the item is rejected in the comment.")
        adjudication = Adjudication.objects.create(
            item=item,
            adjudicator=adjudicator,
            verdict=verdict,
            preference=preference,
            revision=revision,
            comment=comment,
        )
        item.status = ReviewItem.Status.DECIDED
        item.final_verdict = Verdict.EDIT if revision is not None else verdict
        item.final_preference = preference
        item.final_revision = revision
        item.decided_at = timezone.now()
        item.save(
            update_fields=["status", "final_verdict", "final_preference", "final_revision", "decided_at"]
        )
        return adjudication
