"""The queue's promises beyond claim and submit: late submits, undo, drafts, pairs, time spent, prefetch."""

from datetime import timedelta

import pytest
from django.utils import timezone

from review.models import Assignment, Decision, ItemRevision, ReviewDraft, ReviewItem
from review.queue import (
    ReviewError,
    adjudicate,
    claim_next,
    current_version,
    prefetch_next,
    progress,
    save_draft,
    submit_decision,
    undo_last_decision,
)
from synth.models import Candidate
from tests.review.leases import let_leases_expire


def held(reviewer):
    return claim_next(reviewer).assignment


def expire(assignment):
    let_leases_expire(pk=assignment.pk)


def test_claim_next_returns_the_item_with_its_assignment(review_items, physician):
    item = claim_next(physician)
    assert item == review_items[0]
    assert item.assignment == Assignment.objects.get(item=item, reviewer=physician)


def test_a_late_submit_nobody_else_claimed_in_between_counts(review_items, physician):
    assignment = held(physician)
    expire(assignment)
    decision = submit_decision(reviewer=physician, assignment_id=assignment.pk, verdict="accept")
    assert not decision.extra
    assert ReviewItem.objects.get(pk=assignment.item_id).final_verdict == "accept"


def test_a_late_submit_after_another_reviewer_took_the_item_is_kept_as_an_extra_verdict(
    review_items, physician, physician2
):
    first = held(physician)
    expire(first)
    second = held(physician2)
    assert second.item_id == first.item_id
    late = submit_decision(reviewer=physician, assignment_id=first.pk, verdict="reject", reasons=["unsafe"])
    assert late.extra and Decision.objects.filter(pk=late.pk).exists()
    assert ReviewItem.objects.get(pk=first.item_id).status == "pending"  # it does not settle the item
    submit_decision(reviewer=physician2, assignment_id=second.pk, verdict="accept")
    item = ReviewItem.objects.get(pk=first.item_id)
    assert (item.status, item.final_verdict) == ("decided", "accept")
    assert item.decisions.count() == 2


def test_a_reviewer_coming_back_to_an_expired_item_nobody_took_gets_it_back(review_items, physician):
    assignment = held(physician)
    expire(assignment)
    assert claim_next(physician).assignment.pk == assignment.pk
    assignment.refresh_from_db()
    assert assignment.lease_expires_at > timezone.now()


def test_undo_keeps_the_decision_on_record_and_gives_the_item_back(review_items, physician):
    assignment = held(physician)
    decision = submit_decision(reviewer=physician, assignment_id=assignment.pk, verdict="accept")
    assert claim_next(physician) != assignment.item
    undo_last_decision(reviewer=physician)
    assert Decision.history.get(pk=decision.pk).undone_at is not None
    assert not Decision.objects.filter(pk=decision.pk).exists()
    item = ReviewItem.objects.get(pk=assignment.item_id)
    assert (item.status, item.final_verdict) == ("pending", "")
    assert claim_next(physician) == item  # back in front of the reviewer, first
    again = submit_decision(
        reviewer=physician, assignment_id=assignment.pk, verdict="reject", reasons=["phi"]
    )
    assert Decision.history.filter(assignment=assignment).count() == 2
    assert ReviewItem.objects.get(pk=item.pk).final_verdict == "reject" == again.verdict


def test_an_undone_edit_no_longer_counts_as_the_current_version(review_items, physician):
    assignment = held(physician)
    candidate = assignment.item.candidate
    submit_decision(
        reviewer=physician,
        assignment_id=assignment.pk,
        verdict="edit",
        instruction="I",
        output="O",
        based_on=0,
    )
    undo_last_decision(reviewer=physician)
    assert current_version(assignment.item)[0] == 0
    assert ItemRevision.objects.count() == 1  # the edit itself stays on record
    assert ReviewItem.objects.get(pk=assignment.item_id).final_revision is None
    assert candidate.output == current_version(assignment.item)[3]


def test_undo_only_works_within_the_window(review_items, physician, settings):
    assignment = held(physician)
    decision = submit_decision(reviewer=physician, assignment_id=assignment.pk, verdict="accept")
    Decision.objects.filter(pk=decision.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.REVIEW_UNDO_SECONDS + 1)
    )
    with pytest.raises(ReviewError, match="nothing to undo"):
        undo_last_decision(reviewer=physician)
    assert Decision.objects.filter(pk=decision.pk).exists()


def test_undo_takes_back_only_ones_own_decision(review_items, physician, physician2):
    submit_decision(reviewer=physician, assignment_id=held(physician).pk, verdict="accept")
    with pytest.raises(ReviewError, match="nothing to undo"):
        undo_last_decision(reviewer=physician2)
    assert Decision.objects.count() == 1


def test_a_draft_is_kept_until_the_decision_and_never_overwrites_it(review_items, physician):
    assignment = held(physician)
    save_draft(
        reviewer=physician, assignment_id=assignment.pk, panel="edit", output="half-written", edited=True
    )
    assert ReviewDraft.objects.get(assignment=assignment).output == "half-written"
    submit_decision(reviewer=physician, assignment_id=assignment.pk, verdict="accept")
    assert not ReviewDraft.objects.exists()
    with pytest.raises(ReviewError, match="already decided"):
        save_draft(reviewer=physician, assignment_id=assignment.pk, panel="edit", output="late keystroke")
    assert Decision.objects.get().verdict == "accept" and not ReviewDraft.objects.exists()


def test_a_draft_on_someone_elses_item_is_refused(review_items, physician, physician2):
    assignment = held(physician)
    with pytest.raises(ReviewError, match="not assigned to you"):
        save_draft(reviewer=physician2, assignment_id=assignment.pk, output="x")
    assert not ReviewDraft.objects.exists()


def test_time_spent_counts_from_when_the_item_was_shown(review_items, physician):
    assignment = held(physician)
    Assignment.objects.filter(pk=assignment.pk).update(shown_at=timezone.now() - timedelta(seconds=42))
    decision = submit_decision(reviewer=physician, assignment_id=assignment.pk, verdict="accept")
    assert 42 <= decision.seconds_spent <= 44


def test_prefetch_holds_the_next_item_so_save_and_next_only_shows_it(review_items, physician, physician2):
    current = claim_next(physician)
    ahead = prefetch_next(physician)
    assert ahead not in (None, current)
    assert claim_next(physician2) not in (current, ahead)  # held items are nobody else's
    submit_decision(reviewer=physician, assignment_id=current.assignment.pk, verdict="accept")
    assert claim_next(physician) == ahead
    assert Assignment.objects.filter(reviewer=physician).count() == 2


@pytest.fixture
def pair_item(review_items):
    Candidate.objects.filter(pk=review_items[0].candidate_id).update(rejected_output="A weaker answer.")
    return ReviewItem.objects.get(pk=review_items[0].pk)


def test_a_pair_needs_a_choice_and_stores_the_preference(pair_item, physician):
    assignment = held(physician)
    with pytest.raises(ReviewError, match="Choose the better response"):
        submit_decision(reviewer=physician, assignment_id=assignment.pk, verdict="accept")
    submit_decision(
        reviewer=physician, assignment_id=assignment.pk, verdict="accept", preference="rejected_output"
    )
    item = ReviewItem.objects.get(pk=pair_item.pk)
    assert (item.final_verdict, item.final_preference) == ("accept", "rejected_output")
    assert Decision.objects.get().preference == "rejected_output"


def test_both_unacceptable_is_a_reject_with_preference_neither(pair_item, physician):
    assignment = held(physician)
    submit_decision(reviewer=physician, assignment_id=assignment.pk, verdict="reject", reasons=["unsafe"])
    item = ReviewItem.objects.get(pk=pair_item.pk)
    assert (item.final_verdict, item.final_preference) == ("reject", "neither")


def test_an_edit_of_a_pair_applies_to_the_chosen_response(pair_item, physician):
    assignment = held(physician)
    candidate = pair_item.candidate
    with pytest.raises(ReviewError, match="did not change anything"):
        submit_decision(
            reviewer=physician,
            assignment_id=assignment.pk,
            verdict="edit",
            instruction=candidate.instruction,
            task_input=candidate.input,
            output="A weaker answer.",
            preference="rejected_output",
            based_on=0,
        )
    submit_decision(
        reviewer=physician,
        assignment_id=assignment.pk,
        verdict="edit",
        instruction=candidate.instruction,
        task_input=candidate.input,
        output="A weaker answer, corrected.",
        preference="rejected_output",
        based_on=0,
    )
    item = ReviewItem.objects.get(pk=pair_item.pk)
    assert item.final_revision.output == "A weaker answer, corrected."
    assert item.final_preference == "rejected_output"


def test_reviewers_choosing_different_responses_of_a_pair_disagree(pair_item, physician, physician2):
    ReviewItem.objects.filter(pk=pair_item.pk).update(required_reviews=2)
    first, second = held(physician), held(physician2)
    submit_decision(reviewer=physician, assignment_id=first.pk, verdict="accept", preference="output")
    submit_decision(
        reviewer=physician2, assignment_id=second.pk, verdict="accept", preference="rejected_output"
    )
    assert ReviewItem.objects.get(pk=pair_item.pk).status == "needs_adjudication"


def test_pair_reviewers_editing_the_same_response_differently_go_to_adjudication(
    pair_item, physician, physician2, senior
):
    # Blind review for pairs: the same preferred response, but each reviewer's own edit of it.
    ReviewItem.objects.filter(pk=pair_item.pk).update(required_reviews=2)
    first, second = held(physician), held(physician2)
    candidate = pair_item.candidate
    for reviewer, assignment, text in (
        (physician, first, "Weaker, fixed."),
        (physician2, second, "Weaker, mended."),
    ):
        submit_decision(
            reviewer=reviewer,
            assignment_id=assignment.pk,
            verdict="edit",
            instruction=candidate.instruction,
            task_input=candidate.input,
            output=text,
            preference="rejected_output",
            based_on=0,
        )
    assert ReviewItem.objects.get(pk=pair_item.pk).status == "needs_adjudication"
    mended = ItemRevision.objects.get(output="Weaker, mended.")
    with pytest.raises(ReviewError, match="choose it as the preferred response"):
        adjudicate(
            adjudicator=senior,
            item_id=pair_item.pk,
            verdict="accept",
            preference="output",
            revision_id=mended.pk,
        )
    adjudicate(adjudicator=senior, item_id=pair_item.pk, verdict="accept", revision_id=mended.pk)
    item = ReviewItem.objects.get(pk=pair_item.pk)
    assert (item.final_verdict, item.final_preference, item.final_revision) == (
        "edit",
        "rejected_output",
        mended,
    )


def test_the_pair_order_is_drawn_per_assignment_and_recorded(pair_item, physician):
    swaps = set()
    for _ in range(30):
        assignment = held(physician)
        swaps.add(assignment.pair_swapped)
        Assignment.objects.filter(pk=assignment.pk).delete()
        ReviewItem.objects.update(available_at=None)  # as it was before the claim
    assert swaps == {True, False}


def test_a_non_pair_refuses_a_preference(review_items, physician):
    assignment = held(physician)
    with pytest.raises(ReviewError, match="not a preference pair"):
        submit_decision(reviewer=physician, assignment_id=assignment.pk, verdict="accept", preference="tie")


def test_progress_counts_todays_decisions_and_offers_only_a_recent_one_for_undo(
    review_items, physician, settings
):
    assert progress(physician) == (0, None)
    first = submit_decision(reviewer=physician, assignment_id=held(physician).pk, verdict="accept")
    second = submit_decision(
        reviewer=physician, assignment_id=held(physician).pk, verdict="reject", reasons=["unsafe"]
    )
    assert progress(physician) == (2, second)
    # Once the undo window has passed: still reviewed today, nothing left to undo.
    settings.REVIEW_UNDO_SECONDS = 0
    assert progress(physician) == (2, None)
    settings.REVIEW_UNDO_SECONDS = 120
    # Yesterday's decisions do not count today.
    Decision.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(days=1))
    assert progress(physician)[0] == 1
