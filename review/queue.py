"""The review queue: claiming the next item and submitting a decision on it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from review.models import (
    APPROVING_VERDICTS,
    Assignment,
    Decision,
    ItemRevision,
    RejectReason,
    ReviewItem,
    Verdict,
)


class ReviewError(Exception):
    """A decision cannot be stored; the message tells the reviewer what to do."""


def _lease() -> timedelta:
    return timedelta(minutes=settings.REVIEW_LEASE_MINUTES)


def _live(now) -> Q:
    """Assignments that count against an item's required reviews: submitted, or claimed and not expired."""
    return Q(status=Assignment.Status.SUBMITTED) | Q(
        status=Assignment.Status.ACTIVE, lease_expires_at__gt=now
    )


def current_assignment(reviewer) -> Assignment | None:
    """The reviewer's claimed, undecided, unexpired item, if any: reopening the page resumes it."""
    return (
        Assignment.objects.filter(
            reviewer=reviewer, status=Assignment.Status.ACTIVE, lease_expires_at__gt=timezone.now()
        )
        .select_related("item__candidate__domain")
        .order_by("claimed_at")
        .first()
    )


def claim_next(reviewer) -> ReviewItem | None:
    """Claim the next item for `reviewer` (or return the one they hold). None when the queue is empty."""
    now = timezone.now()
    with transaction.atomic():
        if held := current_assignment(reviewer):
            return held.item
        taken = (
            Assignment.objects.filter(_live(now), item=OuterRef("pk"))
            .values("item")
            .annotate(n=Count("pk"))
            .values("n")
        )
        open_items = (
            ReviewItem.objects.filter(status=ReviewItem.Status.PENDING)
            .exclude(assignments__reviewer=reviewer)
            .annotate(taken=Coalesce(Subquery(taken), 0))
            .filter(taken__lt=F("required_reviews"))
            .order_by("id")
        )
        if connection.features.has_select_for_update_skip_locked:
            # Reviewers claiming at the same moment each get a different item, without waiting.
            open_items = open_items.select_for_update(skip_locked=True, of=("self",))
        item = open_items.first()
        if item is None:
            return None
        Assignment.objects.create(item=item, reviewer=reviewer, lease_expires_at=now + _lease())
        return item


def current_version(item: ReviewItem) -> tuple[int, str, str, str]:
    """(number, instruction, input, output) of the item's latest text: the candidate is version 0."""
    latest = item.revisions.order_by("-number").first()
    if latest is not None:
        return latest.number, latest.instruction, latest.input, latest.output
    candidate = item.candidate
    return 0, candidate.instruction, candidate.input, candidate.output


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
) -> Decision:
    """Store a reviewer's verdict on the item they claimed. Submitting the same thing twice stores one."""
    reasons = sorted(set(reasons))
    comment = comment.strip()
    with transaction.atomic():
        assignment = (
            Assignment.objects.select_for_update(of=("self",))
            .select_related("item__candidate")
            .filter(pk=assignment_id, reviewer=reviewer)
            .first()
        )
        if assignment is None:
            raise ReviewError(
                "This item is not assigned to you. Open the review queue to get your next item."
            )
        if existing := Decision.objects.filter(assignment=assignment).select_related("revision").first():
            if _same_decision(existing, verdict, reasons, output):
                return existing  # a double click or a retried request
            raise ReviewError(
                f"You already decided on this item ({existing.get_verdict_display().lower()}); "
                "that decision stands."
            )

        item = assignment.item
        revision = None
        if verdict == Verdict.REJECT:
            _check_reject(reasons, comment)
        elif verdict == Verdict.EDIT:
            revision = _store_revision(item, reviewer, instruction, task_input, output, based_on)
        elif verdict != Verdict.ACCEPT:
            raise ReviewError("Choose accept, edit or reject.")

        decision = Decision.objects.create(
            assignment=assignment,
            item=item,
            reviewer=reviewer,
            verdict=verdict,
            reasons=reasons if verdict == Verdict.REJECT else [],
            comment=comment,
            revision=revision,
        )
        assignment.status = Assignment.Status.SUBMITTED
        assignment.save(update_fields=["status"])
        _settle(item)
        return decision


def _same_decision(existing: Decision, verdict: str, reasons: list[str], output: str | None) -> bool:
    if existing.verdict != verdict:
        return False
    if verdict == Verdict.REJECT:
        return sorted(existing.reasons) == reasons
    if verdict == Verdict.EDIT:
        return existing.revision is not None and existing.revision.output == (output or "").strip()
    return True


def _check_reject(reasons: list[str], comment: str) -> None:
    if not reasons:
        raise ReviewError("Choose at least one reason for rejecting this item.")
    unknown = [r for r in reasons if r not in RejectReason.values]
    if unknown:
        raise ReviewError(f"Unknown reason code(s): {', '.join(unknown)}.")
    if RejectReason.OTHER in reasons and not comment:
        raise ReviewError("You chose 'Other': say why in the comment.")


def _store_revision(item, author, instruction, task_input, output, based_on) -> ItemRevision:
    instruction, task_input, output = (
        (instruction or "").strip(),
        (task_input or "").strip(),
        (output or "").strip(),
    )
    if not instruction:
        raise ReviewError("The instruction cannot be empty.")
    if not output:
        raise ReviewError(
            "The edited response cannot be empty. Write the corrected answer, or reject the item."
        )
    number, old_instruction, old_input, old_output = current_version(item)
    if based_on is not None and based_on != number:
        raise ReviewError("This item was edited since you opened it. Reload it to see the latest version.")
    if (instruction, task_input, output) == (old_instruction.strip(), old_input.strip(), old_output.strip()):
        raise ReviewError("You did not change anything. Change the text, or accept the item as it is.")
    next_number = (item.revisions.aggregate(n=Max("number"))["n"] or 0) + 1
    return ItemRevision.objects.create(
        item=item,
        number=next_number,
        based_on=number,
        instruction=instruction,
        input=task_input,
        output=output,
        author=author,
    )


def _settle(item: ReviewItem) -> None:
    """Once an item has the reviews it needs, agreeing verdicts decide it; disagreement goes to adjudication."""
    if item.status != ReviewItem.Status.PENDING:
        return
    decisions = list(item.decisions.order_by("created_at"))
    if len(decisions) < item.required_reviews:
        return
    approving = {d.verdict in APPROVING_VERDICTS for d in decisions}
    if len(approving) > 1:
        item.status = ReviewItem.Status.NEEDS_ADJUDICATION
        item.save(update_fields=["status"])
        return
    edits = [d for d in decisions if d.verdict == Verdict.EDIT]
    if edits:
        item.final_verdict, item.final_revision = Verdict.EDIT, edits[-1].revision
    elif approving == {True}:
        item.final_verdict = Verdict.ACCEPT
    else:
        item.final_verdict = Verdict.REJECT
    item.status = ReviewItem.Status.DECIDED
    item.decided_at = timezone.now()
    item.save(update_fields=["status", "final_verdict", "final_revision", "decided_at"])


def reviewed_today(reviewer) -> int:
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return Decision.objects.filter(reviewer=reviewer, created_at__gte=start).count()


def left_in_queue(reviewer) -> int:
    return (
        ReviewItem.objects.filter(status=ReviewItem.Status.PENDING)
        .exclude(assignments__reviewer=reviewer)
        .count()
    )
