"""The item in front of a reviewer is read by one written-out statement (review.queue.claims): what
it reads must be what the ORM reads, value for value, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import transaction

from review.models import Assignment, ReviewDraft, ReviewItem
from review.queue import decisions, show_next, submit_decision
from review.queue.drafts import save_draft
from review.selectors.reviewing import progress, progress_read_with
from synth.models import Candidate, QualityResult
from synth.quality.flags import flags_for


def values(instance) -> list:
    return [getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields]


def assert_read_as_the_orm_reads(item: ReviewItem, reviewer) -> None:
    assignment = item.assignment
    assert values(assignment) == values(Assignment.objects.get(pk=assignment.pk))
    assert values(item) == values(ReviewItem.objects.get(pk=item.pk))
    candidate = Candidate.objects.select_related("domain").get(pk=item.candidate_id)
    assert values(item.candidate) == values(candidate)
    assert values(item.candidate.domain) == values(candidate.domain)
    assert flags_for(candidate=item.candidate) == flags_for(candidate=candidate)
    stored_draft = ReviewDraft.objects.filter(assignment=assignment).first()
    if stored_draft is None:
        with pytest.raises(ReviewDraft.DoesNotExist):
            assignment.draft  # noqa: B018 (the accessor is what is tested)
    else:
        assert values(assignment.draft) == values(stored_draft)
        assert assignment.draft.assignment is assignment
    today, undoable = progress_read_with(assignment)
    expected_today, expected_undoable = progress(reviewer)
    assert today == expected_today
    if expected_undoable is None:
        assert undoable is None
    else:
        assert (undoable.verdict, undoable.item_id) == (expected_undoable.verdict, expected_undoable.item_id)


def test_a_claimed_item_its_flags_draft_and_progress_are_read_as_the_orm_reads_them(review_items, physician):
    first = show_next(physician, claim_ahead=True)
    QualityResult.objects.update_or_create(
        candidate_id=first.candidate_id,
        check_name="phi",
        defaults={
            "passed": True,
            "flagged": True,
            "reason": "possible PHI",
            "evidence": {
                "findings": [
                    {"field": "output", "field_label": "Response", "start": 0, "end": 3, "kind": "name"}
                ]
            },
        },
    )
    again = show_next(physician)  # the same item, read again: now with a flag
    assert again.pk == first.pk
    assert flags_for(candidate=again.candidate)["flags"]
    assert_read_as_the_orm_reads(again, physician)

    save_draft(
        reviewer=physician,
        assignment_id=again.assignment.pk,
        panel="edit",
        instruction="",
        task_input="",
        output="Édité: 500 mg ✓",
        reasons=[],
        comment="",
        preference="",
    )
    with_draft = show_next(physician)
    assert with_draft.assignment.draft.output == "Édité: 500 mg ✓"
    assert_read_as_the_orm_reads(with_draft, physician)

    submit_decision(reviewer=physician, assignment_id=with_draft.assignment.pk, verdict="accept")
    after = show_next(physician, claim_ahead=True)  # the one claimed ahead, with the undo bar's decision
    assert after.pk != first.pk
    assert progress_read_with(after.assignment)[0] == 1
    assert_read_as_the_orm_reads(after, physician)


def test_the_decisions_locked_read_is_what_the_orm_reads(review_items, physician, physician2):
    """The decision's first statement (decisions._LOCK_ASSIGNMENT) reads the assignment with its item,
    candidate and draft; someone else's assignment reads as nothing."""
    shown = show_next(physician)
    save_draft(reviewer=physician, assignment_id=shown.assignment.pk, panel="reject", comment="Dose?")
    with transaction.atomic():
        locked = decisions._lock_assignment(physician, shown.assignment.pk)
        assert decisions._lock_assignment(physician2, shown.assignment.pk) is None
    assert values(locked) == values(Assignment.objects.get(pk=shown.assignment.pk))
    assert values(locked.item) == values(ReviewItem.objects.get(pk=shown.pk))
    assert values(locked.item.candidate) == values(Candidate.objects.get(pk=shown.candidate_id))
    assert values(locked.draft) == values(ReviewDraft.objects.get(assignment=locked))
    assert locked.reviewer == physician
