"""Revising one's own older decision: a new decision supersedes it (append-only), the item settles again,
and the rule says until when (review.queue.decisions.revision_refusal)."""

from __future__ import annotations

import pytest

from review.models import Assignment, Decision, Export, ReviewItem
from review.queue import ReviewError, adjudicate, claim_next, revise_decision, submit_decision
from review.queue.errors import NotYours


def decide(reviewer, verdict: str, **extra) -> Decision:
    item = claim_next(reviewer)
    assignment = Assignment.objects.get(item=item, reviewer=reviewer)
    if verdict == "reject":
        extra.setdefault("reasons", ["factually_wrong"])
    return submit_decision(reviewer=reviewer, assignment_id=assignment.pk, verdict=verdict, **extra)


def test_it_revises_a_single_review_and_resettles_the_item(review_items, physician):
    old = decide(physician, "accept")
    new = revise_decision(reviewer=physician, decision_id=old.pk, verdict="reject", reasons=["unsafe"])
    item = ReviewItem.objects.get(pk=old.item_id)
    assert (item.status, item.final_verdict) == ("decided", "reject")
    assert list(Decision.history.filter(item=item).order_by("pk").values_list("verdict", flat=True)) == [
        "accept",
        "reject",
    ]
    assert Decision.objects.get(item=item) == new


def test_a_retried_revision_stores_one(review_items, physician):
    old = decide(physician, "accept")
    first = revise_decision(reviewer=physician, decision_id=old.pk, verdict="reject", reasons=["unsafe"])
    again = revise_decision(reviewer=physician, decision_id=old.pk, verdict="reject", reasons=["unsafe"])
    assert first == again
    assert Decision.history.filter(item_id=old.item_id).count() == 2


def test_an_edit_revision_is_made_on_the_original_text(review_items, physician):
    old = decide(physician, "accept")
    candidate = old.item.candidate
    new = revise_decision(
        reviewer=physician,
        decision_id=old.pk,
        verdict="edit",
        instruction=candidate.instruction,
        task_input=candidate.input,
        output="A better answer.",
    )
    item = ReviewItem.objects.get(pk=old.item_id)
    assert item.final_verdict == "edit" and item.final_revision == new.revision
    assert new.revision.based_on == 0


def test_nothing_changed_is_refused_and_stores_nothing(review_items, physician):
    old = decide(physician, "accept")
    with pytest.raises(ReviewError, match="changed nothing"):
        revise_decision(reviewer=physician, decision_id=old.pk, verdict="accept")
    assert Decision.history.count() == 1


def test_bad_input_is_refused_and_changes_nothing(review_items, physician):
    old = decide(physician, "accept")
    with pytest.raises(ReviewError, match="reason"):
        revise_decision(reviewer=physician, decision_id=old.pk, verdict="reject")
    with pytest.raises(ReviewError, match="Choose accept"):
        revise_decision(reviewer=physician, decision_id=old.pk, verdict="maybe")
    old.refresh_from_db()
    assert old.superseded_at is None and Decision.history.count() == 1


def test_another_reviewers_decision_is_not_yours(review_items, physician, physician2):
    old = decide(physician, "accept")
    with pytest.raises(NotYours):
        revise_decision(reviewer=physician2, decision_id=old.pk, verdict="reject", reasons=["unsafe"])


def test_an_adjudicated_item_can_no_longer_be_revised(review_items, physician, physician2, senior):
    item = review_items[0]
    ReviewItem.objects.filter(pk=item.pk).update(required_reviews=2)
    old = decide(physician, "accept")
    decide(physician2, "reject")
    adjudicate(adjudicator=senior, item_id=item.pk, verdict="accept")
    with pytest.raises(ReviewError, match="senior physician settled"):
        revise_decision(reviewer=physician, decision_id=old.pk, verdict="reject", reasons=["unsafe"])


def test_an_approved_item_exported_since_can_no_longer_be_revised(review_items, physician):
    old = decide(physician, "accept")
    Export.objects.create(kind="sft", format="jsonl", status=Export.Status.READY)
    with pytest.raises(ReviewError, match="export"):
        revise_decision(reviewer=physician, decision_id=old.pk, verdict="reject", reasons=["unsafe"])
    # A rejected item was in no export: it may still be revised.
    rejected = decide(physician, "reject")
    revise_decision(reviewer=physician, decision_id=rejected.pk, verdict="accept")


def test_a_superseded_decision_cannot_be_revised_again(review_items, physician):
    old = decide(physician, "accept")
    revise_decision(reviewer=physician, decision_id=old.pk, verdict="reject", reasons=["unsafe"])
    with pytest.raises(ReviewError, match="revised this decision already"):
        revise_decision(reviewer=physician, decision_id=old.pk, verdict="edit", output="x", instruction="y")


def test_a_revision_is_not_undone_by_undo(review_items, physician):
    from review.queue import undo_last_decision

    old = decide(physician, "accept")
    revise_decision(reviewer=physician, decision_id=old.pk, verdict="reject", reasons=["unsafe"])
    # Undo takes back the last new decision (the original accept is superseded): nothing to undo.
    with pytest.raises(ReviewError, match="nothing to undo"):
        undo_last_decision(reviewer=physician)
