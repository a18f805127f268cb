from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from review.models import Assignment, Decision, ItemRevision, ReviewItem
from review.queue import ReviewError, claim_next, current_version, submit_decision
from review.queue.claims import recount_hint
from tests.review.leases import let_leases_expire


def test_claim_next_gives_the_oldest_open_item(review_items, physician):
    assert claim_next(physician) == review_items[0]


def test_claim_next_returns_the_item_the_reviewer_already_holds(review_items, physician):
    assert claim_next(physician) == claim_next(physician) == review_items[0]
    assert Assignment.objects.count() == 1


def test_two_reviewers_get_different_items(review_items, physician, physician2):
    assert claim_next(physician) != claim_next(physician2)


def test_claim_next_returns_none_when_the_queue_is_empty(db, physician):
    assert claim_next(physician) is None


def test_an_expired_lease_returns_the_item_to_the_queue(review_items, physician, physician2):
    first = claim_next(physician)
    let_leases_expire()
    assert claim_next(physician2) == first


def test_a_reviewer_never_gets_the_same_item_twice(review_items, physician):
    for item in review_items:
        assignment = Assignment.objects.get(item=claim_next(physician), reviewer=physician)
        assert assignment.item == item
        submit_decision(reviewer=physician, assignment_id=assignment.pk, verdict="accept")
    assert claim_next(physician) is None


def held(reviewer):
    item = claim_next(reviewer)
    return Assignment.objects.get(item=item, reviewer=reviewer)


def test_accept_decides_the_item(review_items, physician):
    assignment = held(physician)
    submit_decision(reviewer=physician, assignment_id=assignment.pk, verdict="accept")
    item = ReviewItem.objects.get(pk=assignment.item_id)
    assert (item.status, item.final_verdict) == ("decided", "accept")
    assert item.is_approved


def test_an_edit_is_stored_as_a_new_version_and_the_original_stays(review_items, physician):
    assignment = held(physician)
    original = assignment.item.candidate.output
    submit_decision(
        reviewer=physician,
        assignment_id=assignment.pk,
        verdict="edit",
        instruction=assignment.item.candidate.instruction,
        task_input="",
        output="Corrected answer.",
        based_on=0,
    )
    item = ReviewItem.objects.get(pk=assignment.item_id)
    assert item.final_verdict == "edit"
    assert item.final_revision.output == "Corrected answer."
    assert item.final_revision.number == 1
    item.candidate.refresh_from_db()
    assert item.candidate.output == original


def test_reject_needs_a_reason_and_stores_it(review_items, physician):
    assignment = held(physician)
    submit_decision(
        reviewer=physician,
        assignment_id=assignment.pk,
        verdict="reject",
        reasons=["factually_wrong", "unsafe"],
    )
    decision = Decision.objects.get()
    assert decision.reasons == ["factually_wrong", "unsafe"]
    assert ReviewItem.objects.get(pk=assignment.item_id).final_verdict == "reject"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"verdict": "reject"}, "at least one reason"),
        ({"verdict": "reject", "reasons": ["bogus"]}, "Unknown reason"),
        ({"verdict": "reject", "reasons": ["other"]}, "say why"),
        ({"verdict": "edit", "instruction": "x", "output": "   "}, "response cannot be empty"),
        ({"verdict": "edit", "instruction": "", "output": "y"}, "instruction cannot be empty"),
        ({"verdict": "maybe"}, "Choose accept, edit or reject"),
    ],
)
def test_an_invalid_decision_is_refused_and_changes_nothing(review_items, physician, fields, message):
    assignment = held(physician)
    with pytest.raises(ReviewError, match=message):
        submit_decision(reviewer=physician, assignment_id=assignment.pk, **fields)
    assert not Decision.objects.exists() and not ItemRevision.objects.exists()
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.ACTIVE
    assert ReviewItem.objects.get(pk=assignment.item_id).status == "pending"


def test_an_unchanged_edit_is_refused(review_items, physician):
    assignment = held(physician)
    candidate = assignment.item.candidate
    with pytest.raises(ReviewError, match="did not change anything"):
        submit_decision(
            reviewer=physician,
            assignment_id=assignment.pk,
            verdict="edit",
            instruction=candidate.instruction,
            task_input=candidate.input,
            output=candidate.output,
            based_on=0,
        )


def test_a_decision_on_an_item_not_claimed_by_the_reviewer_is_refused(review_items, physician, physician2):
    assignment = held(physician)
    with pytest.raises(ReviewError, match="not assigned to you"):
        submit_decision(reviewer=physician2, assignment_id=assignment.pk, verdict="accept")
    assert not Decision.objects.exists()


def test_submitting_the_same_decision_twice_stores_one(review_items, physician):
    assignment = held(physician)
    first = submit_decision(
        reviewer=physician, assignment_id=assignment.pk, verdict="reject", reasons=["unsafe"]
    )
    second = submit_decision(
        reviewer=physician, assignment_id=assignment.pk, verdict="reject", reasons=["unsafe"]
    )
    assert first == second
    assert Decision.objects.count() == 1


def test_submitting_the_same_edit_twice_stores_one_version(review_items, physician):
    assignment = held(physician)
    fields = {
        "verdict": "edit",
        "instruction": "Fixed instruction",
        "task_input": "",
        "output": "Fixed.",
        "based_on": 0,
    }
    submit_decision(reviewer=physician, assignment_id=assignment.pk, **fields)
    submit_decision(reviewer=physician, assignment_id=assignment.pk, **fields)
    assert (Decision.objects.count(), ItemRevision.objects.count()) == (1, 1)


def test_a_different_second_decision_is_refused_and_the_first_stands(review_items, physician):
    assignment = held(physician)
    submit_decision(reviewer=physician, assignment_id=assignment.pk, verdict="accept")
    with pytest.raises(ReviewError, match="already decided"):
        submit_decision(reviewer=physician, assignment_id=assignment.pk, verdict="reject", reasons=["unsafe"])
    assert Decision.objects.get().verdict == "accept"


def test_a_second_reviewer_edits_the_candidate_not_the_first_reviewers_pending_edit(
    review_items, physician, physician2
):
    # Blind review (issue 11): this test used to assert that the second edit was refused as stale
    # because of the first reviewer's pending edit. Each edit is now its author's own proposal.
    item = review_items[0]
    item.required_reviews = 2
    item.save()
    first, second = held(physician), held(physician2)
    assert first.item_id == second.item_id == item.pk
    submit_decision(
        reviewer=physician, assignment_id=first.pk, verdict="edit", instruction="A", output="B", based_on=0
    )
    assert current_version(ReviewItem.objects.get(pk=item.pk))[0] == 0  # still the candidate's text
    submit_decision(
        reviewer=physician2, assignment_id=second.pk, verdict="edit", instruction="C", output="D", based_on=0
    )
    assert ItemRevision.objects.filter(item=item).count() == 2
    assert ReviewItem.objects.get(pk=item.pk).status == "needs_adjudication"  # the texts differ


def test_two_identical_edits_settle_the_item_with_that_text(review_items, physician, physician2):
    item = review_items[0]
    item.required_reviews = 2
    item.save()
    first, second = held(physician), held(physician2)
    for reviewer, assignment, spacing in (
        (physician, first, "Fixed  answer."),
        (physician2, second, "Fixed answer."),
    ):
        submit_decision(
            reviewer=reviewer,
            assignment_id=assignment.pk,
            verdict="edit",
            instruction="A",
            output=spacing,
            based_on=0,
        )
    item.refresh_from_db()
    assert (item.status, item.final_verdict) == ("decided", "edit")
    assert item.final_revision.output == "Fixed  answer."  # the first proposal of the same text
    assert current_version(item)[0] == item.final_revision.number


@pytest.mark.parametrize("based_on", [None, "", -1, "abc"])
def test_an_edit_without_a_valid_based_on_is_refused(review_items, physician, based_on):
    assignment = held(physician)
    with pytest.raises(ReviewError, match="version"):
        submit_decision(
            reviewer=physician,
            assignment_id=assignment.pk,
            verdict="edit",
            instruction="A",
            output="B",
            based_on=based_on,
        )
    assert not Decision.objects.exists() and not ItemRevision.objects.exists()


def test_disagreeing_double_reviews_go_to_adjudication(review_items, physician, physician2):
    item = review_items[0]
    item.required_reviews = 2
    item.save()
    first, second = held(physician), held(physician2)
    submit_decision(reviewer=physician, assignment_id=first.pk, verdict="accept")
    assert ReviewItem.objects.get(pk=item.pk).status == "pending"
    submit_decision(reviewer=physician2, assignment_id=second.pk, verdict="reject", reasons=["unsafe"])
    assert ReviewItem.objects.get(pk=item.pk).status == "needs_adjudication"


# Other reviewers' assignments on an item (status, lease from now in minutes), its required reviews,
# and whether a new claim still finds a slot on it.
OTHER_CLAIMS = [
    (1, [], True),
    (2, [], True),
    (2, [("active", 10)], True),
    (2, [("active", -10)], True),  # expired: no longer counts
    (2, [("submitted", 10)], True),
    (2, [("discussing", 10)], True),
    (2, [("skipped", 10)], True),
    (1, [("active", 10)], False),
    (2, [("submitted", 10), ("active", 5)], False),
    (2, [("submitted", 10), ("discussing", 10)], False),
]


@pytest.mark.parametrize("required, others, has_slot", OTHER_CLAIMS)
def test_a_claim_counts_the_items_live_claims_and_stores_the_hint_the_rule_gives(
    review_items, physician, physician2, senior, required, others, has_slot
):
    """The claim counts and stores its item's hint in one hand-written statement (claims._take_slot):
    it takes a slot exactly when live_assignments leaves one, and stores what recount_hint computes."""
    item = review_items[0]
    ReviewItem.objects.exclude(pk=item.pk).update(status=ReviewItem.Status.DECIDED)
    # A stale hint, as a claim committed after another's search began leaves it: the item looks free.
    ReviewItem.objects.filter(pk=item.pk).update(required_reviews=required, available_at=None)
    now = timezone.now()
    for reviewer, (status, minutes) in zip([physician2, senior], others, strict=False):
        Assignment.objects.create(
            item=item, reviewer=reviewer, status=status, lease_expires_at=now + timedelta(minutes=minutes)
        )

    claimed = claim_next(physician)

    assert (claimed is not None and claimed.pk == item.pk) == has_slot
    stored = ReviewItem.objects.get(pk=item.pk).available_at
    with transaction.atomic():
        recount_hint(ReviewItem.objects.select_for_update().get(pk=item.pk), timezone.now())
    by_the_rule = ReviewItem.objects.get(pk=item.pk).available_at
    if stored is None or by_the_rule is None:
        assert stored == by_the_rule
    else:  # "never" (all slots decided) is counted from a slightly later now
        assert abs(stored - by_the_rule) < timedelta(seconds=5)
