"""Discussions: a reviewer's question about a held item to the senior physicians, their answer, and the
reviewer taking the item back to decide it.

- Flagging puts the assignment on hold (Assignment.Status.DISCUSSING): the item keeps this reviewer's
  slot (nobody else takes it) and leaves their queue until the answer comes back.
- A senior physician answers (never their own question); a retried question or answer stores one.
- With the answer, the reviewer takes the item back (a fresh lease, shown first) and decides it.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from review.models import Assignment, Discussion
from review.queue.claims import lease_duration, recount_hint
from review.queue.errors import NotYours, ReviewError

QUESTION_MAX = 4000


def flag_for_discussion(*, reviewer, assignment_id: int, question: str) -> Discussion:
    """Ask the senior physicians about a held item; it waits in their discussion list."""
    question = (question or "").strip()
    if not question:
        raise ReviewError("Write your question for the senior physicians: nothing was sent.")
    if len(question) > QUESTION_MAX:
        raise ReviewError(f"Keep the question under {QUESTION_MAX} characters: nothing was sent.")
    with transaction.atomic():
        assignment = (
            Assignment.objects.select_for_update(of=("self", "item"))
            .select_related("item")
            .filter(pk=assignment_id, reviewer=reviewer)
            .first()
        )
        if assignment is None:
            raise NotYours("This item is not assigned to you.")
        if assignment.status == Assignment.Status.DISCUSSING:
            open_one = assignment.discussions.filter(answered_at__isnull=True).first()
            if open_one is not None and open_one.question == question:
                return open_one  # a retried request
            raise ReviewError("You already asked about this item; wait for the answer.")
        if assignment.status != Assignment.Status.ACTIVE:
            raise ReviewError("You already decided on (or skipped) this item: there is nothing to ask about.")
        assignment.status = Assignment.Status.DISCUSSING
        assignment.save(update_fields=["status"])
        # The slot stays taken with no lease to run out: the claim hint must not say it frees up.
        now = timezone.now()
        recount_hint(assignment.item, now)
        # The draft stays: the reviewer's unsent work is there when they take the item back.
        return Discussion.objects.create(
            assignment=assignment, item_id=assignment.item_id, reviewer=reviewer, question=question
        )


def answer_discussion(*, senior, discussion_id: int, answer: str) -> Discussion:
    """A senior physician answers a reviewer's question; the reviewer then decides the item."""
    answer = (answer or "").strip()
    if not answer:
        raise ReviewError("Write an answer: nothing was sent.")
    if len(answer) > QUESTION_MAX:
        raise ReviewError(f"Keep the answer under {QUESTION_MAX} characters: nothing was sent.")
    with transaction.atomic():
        discussion = Discussion.objects.select_for_update().filter(pk=discussion_id).first()
        if discussion is None:
            raise NotYours("There is no such discussion.")
        if discussion.reviewer_id == senior.pk:
            raise ReviewError("This is your own question: another senior physician answers it.")
        if discussion.answered_at is not None:
            if discussion.answered_by_id == senior.pk and discussion.answer == answer:
                return discussion  # a retried request
            raise ReviewError("This question has been answered already.")
        discussion.answer = answer
        discussion.answered_by = senior
        discussion.answered_at = timezone.now()
        discussion.save(update_fields=["answer", "answered_by", "answered_at"])
        return discussion


def resume_discussed(*, reviewer, discussion_id: int) -> Assignment:
    """The reviewer takes an answered item back: it is in front of them again, to decide."""
    now = timezone.now()
    with transaction.atomic():
        discussion = (
            Discussion.objects.select_for_update(of=("self",))
            .select_related("assignment")
            .filter(pk=discussion_id, reviewer=reviewer)
            .first()
        )
        if discussion is None:
            raise NotYours("There is no such discussion of yours.")
        if discussion.answered_at is None:
            raise ReviewError("The senior physicians have not answered yet.")
        assignment = (
            Assignment.objects.select_for_update(of=("self", "item"))
            .select_related("item")
            .get(pk=discussion.assignment_id)
        )
        if assignment.status == Assignment.Status.ACTIVE:
            return assignment  # taken back already (a retried request)
        if assignment.status != Assignment.Status.DISCUSSING:
            raise ReviewError("You already decided on this item.")
        assignment.status = Assignment.Status.ACTIVE
        assignment.lease_expires_at = now + lease_duration()
        assignment.shown_at = now
        assignment.save(update_fields=["status", "lease_expires_at", "shown_at"])
        item = assignment.item
        recount_hint(item, now)
        return assignment
