"""Decisions: a reviewer's verdict on the item they claimed, how it settles the item, and its undo.

- Nobody sees another reviewer's verdict or pending edit: each edit is its author's own proposal.
  What settles an item is review.settling's rule; differing approved texts go to adjudication.
- A late submit (lease expired) is accepted as a normal verdict if nobody else claimed the item
  meanwhile; otherwise it is kept as an extra verdict (Decision.extra) that does not settle the item,
  and the reviewer is told so. Nothing is silently dropped.
- Decisions are append-only: an undo (own last decision, within settings.REVIEW_UNDO_SECONDS) marks
  the decision undone and gives the item back to its reviewer; it never deletes anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from review.models import Assignment, Decision, Preference, RejectReason, ReviewDraft, ReviewItem, Verdict
from review.queue.claims import lease_duration, taken_by_someone_else
from review.queue.errors import NotYours, ReviewError
from review.queue.revisions import store_revision
from review.settling import decision_digest, settle

PAIR_CHOICES = (Preference.OUTPUT, Preference.REJECTED_OUTPUT, Preference.TIE)


def submit_decision(
    *,
    reviewer,
    assignment_id: int,
    verdict: str,
    reasons: Iterable[str] = (),
    comment: str = "",
    instruction: str | None = None,
    task_input: str | None = None,
    output: str | None = None,
    based_on: int | None = None,
    preference: str = "",
) -> Decision:
    """Store a reviewer's verdict on the item they claimed. Submitting the same thing twice stores one."""
    reasons = sorted(set(reasons))
    comment = comment.strip()
    now = timezone.now()
    with transaction.atomic():
        # The assignment and its item, both locked in one statement: reviewers of the same item
        # settle it one at a time.
        assignment = (
            Assignment.objects.select_for_update(of=("self", "item"))
            .select_related("item__candidate")
            .filter(pk=assignment_id, reviewer=reviewer)
            .first()
        )
        if assignment is None:
            raise NotYours("This item is not assigned to you. Open the review queue to get your next item.")
        item = assignment.item
        # An active assignment has no standing decision (submitting and undoing switch the status in
        # the same transaction as the decision), so only a submitted one is looked up for a repeat.
        submitted = assignment.status == Assignment.Status.SUBMITTED
        existing = (
            Decision.objects.filter(assignment=assignment).select_related("revision").first()
            if submitted
            else None
        )
        if existing:
            if _same_decision(existing, verdict, reasons, output, preference):
                return existing  # a double click or a retried request
            raise ReviewError(
                f"You already decided on this item ({existing.get_verdict_display().lower()}); "
                "that decision stands. Undo it first if you want to change it."
            )

        preference = check_preference(item, verdict, preference)
        revision = None
        if verdict == Verdict.REJECT:
            _check_reject(reasons, comment)
        elif verdict == Verdict.EDIT:
            revision = store_revision(item, reviewer, instruction, task_input, output, based_on, preference)
        elif verdict != Verdict.ACCEPT:
            raise ReviewError("Choose accept, edit or reject.")

        late = assignment.lease_expires_at <= now
        extra = item.status != ReviewItem.Status.PENDING or (late and taken_by_someone_else(assignment))
        started = assignment.shown_at or assignment.claimed_at
        decision = Decision.objects.create(
            assignment=assignment,
            item=item,
            reviewer=reviewer,
            verdict=verdict,
            preference=preference,
            reasons=reasons if verdict == Verdict.REJECT else [],
            comment=comment,
            revision=revision,
            text_digest=decision_digest(item.candidate, verdict, preference, revision),
            extra=extra,
            seconds_spent=max(0, round((now - started).total_seconds())),
        )
        assignment.status = Assignment.Status.SUBMITTED
        assignment.save(update_fields=["status"])
        ReviewDraft.objects.filter(assignment=assignment).delete()  # scratch work, now decided
        if not extra:
            _settle(item, decision)
        return decision


def _same_decision(
    existing: Decision, verdict: str, reasons: list[str], output: str | None, preference: str
) -> bool:
    if existing.verdict != verdict:
        return False
    if preference and existing.preference != preference and existing.preference != Preference.NEITHER:
        return False
    if verdict == Verdict.REJECT:
        return sorted(existing.reasons) == reasons
    if verdict == Verdict.EDIT:
        return existing.revision is not None and existing.revision.output == (output or "").strip()
    return True


def check_preference(item: ReviewItem, verdict: str, preference: str) -> str:
    """A pair needs the physician's choice; anything else must not carry one."""
    if not item.candidate.is_pair:
        if preference:
            raise ReviewError("This item is not a preference pair: there is nothing to choose between.")
        return ""
    if verdict == Verdict.REJECT:
        if preference not in ("", Preference.NEITHER):
            raise ReviewError("Rejecting a pair means both responses are unacceptable.")
        return Preference.NEITHER
    if preference not in PAIR_CHOICES:
        raise ReviewError("Choose the better response (A or B), or call it a tie.")
    return preference


def _check_reject(reasons: list[str], comment: str) -> None:
    if not reasons:
        raise ReviewError("Choose at least one reason for rejecting this item.")
    unknown = [r for r in reasons if r not in RejectReason.values]
    if unknown:
        raise ReviewError(f"Unknown reason code(s): {', '.join(unknown)}.")
    if RejectReason.OTHER in reasons and not comment:
        raise ReviewError("You chose 'Other': say why in the comment.")


def _settle(item: ReviewItem, latest: Decision) -> None:
    """Once an item has the reviews it needs, it settles by review.settling's rule (the same verdict
    and the same text); anything else goes to adjudication."""
    if item.status != ReviewItem.Status.PENDING:
        return
    if item.required_reviews == 1:
        # A pending single-review item has no standing verdict before this one (it would be decided).
        decisions = [latest]
    else:
        decisions = list(
            item.decisions.filter(extra=False).select_related("revision").order_by("created_at", "pk")
        )
    if len(decisions) < item.required_reviews:
        return
    outcome = settle(decisions)
    if outcome.disputed:
        item.status = ReviewItem.Status.NEEDS_ADJUDICATION
        item.save(update_fields=["status"])
        return
    item.final_verdict = outcome.verdict
    item.final_revision = outcome.revision
    item.final_preference = outcome.preference
    item.status = ReviewItem.Status.DECIDED
    item.decided_at = timezone.now()
    item.save(update_fields=["status", "final_verdict", "final_revision", "final_preference", "decided_at"])


def undo_last_decision(*, reviewer) -> Decision:
    """Take back the reviewer's own last decision, within the undo window. Nothing is deleted."""
    now = timezone.now()
    window = timedelta(seconds=settings.REVIEW_UNDO_SECONDS)
    with transaction.atomic():
        last = Decision.objects.filter(reviewer=reviewer).order_by("-created_at", "-pk").first()
        if last is None or last.created_at < now - window:
            raise ReviewError(
                f"There is nothing to undo: a decision can be undone within {settings.REVIEW_UNDO_SECONDS} "
                "seconds of making it."
            )
        assignment = Assignment.objects.select_for_update(of=("self",)).get(pk=last.assignment_id)
        item = ReviewItem.objects.select_for_update(of=("self",)).get(pk=last.item_id)
        if item.adjudications.exists():
            raise ReviewError("A senior physician has already settled this item; it can no longer be undone.")
        last = Decision.objects.select_for_update(of=("self",)).get(pk=last.pk)
        last.undone_at = now
        last.save(update_fields=["undone_at"])
        assignment.status = Assignment.Status.ACTIVE
        # Back in front of the reviewer at once; it is also their oldest claim, so it comes first.
        assignment.lease_expires_at = now + lease_duration()
        assignment.shown_at = now
        assignment.save(update_fields=["status", "lease_expires_at", "shown_at"])
        if item.status != ReviewItem.Status.PENDING and not last.extra:
            item.status = ReviewItem.Status.PENDING
            item.final_verdict = item.final_preference = ""
            item.final_revision = None
            item.decided_at = None
            item.save(
                update_fields=["status", "final_verdict", "final_preference", "final_revision", "decided_at"]
            )
        return last
