"""Skip (not my specialty, unsure) and flag for discussion, through the real claim service."""

from __future__ import annotations

import pytest

from review.models import Assignment, Decision, Discussion
from review.queue import (
    ReviewError,
    answer_discussion,
    claim_next,
    flag_for_discussion,
    resume_discussed,
    skip_item,
    submit_decision,
)
from review.queue.errors import NotYours


def held(reviewer) -> Assignment:
    item = claim_next(reviewer)
    return Assignment.objects.get(item=item, reviewer=reviewer)


def test_a_skipped_item_is_never_offered_again_to_the_same_reviewer(review_items, physician):
    first = held(physician)
    skip_item(reviewer=physician, assignment_id=first.pk, reason="not_my_specialty")
    offered = []
    while (item := claim_next(physician)) is not None:
        offered.append(item.pk)
        submit_decision(reviewer=physician, assignment_id=item.assignment.pk, verdict="accept")
    assert first.item_id not in offered
    assert len(offered) == len(review_items) - 1


def test_a_skipped_item_goes_to_another_reviewer_and_is_not_a_verdict(review_items, physician, physician2):
    first = held(physician)
    skip_item(reviewer=physician, assignment_id=first.pk, reason="unsure")
    assert claim_next(physician2).pk == first.item_id
    assert not Decision.history.exists()
    skipped = Assignment.objects.filter(reviewer=physician, status="skipped")
    assert skipped.count() == 1 and skipped.get().skip_reason == "unsure"


def test_a_retried_skip_changes_nothing_and_a_bad_reason_is_refused(review_items, physician):
    first = held(physician)
    with pytest.raises(ReviewError, match="why"):
        skip_item(reviewer=physician, assignment_id=first.pk, reason="bored")
    assert Assignment.objects.get(pk=first.pk).status == "active"
    skip_item(reviewer=physician, assignment_id=first.pk, reason="unsure")
    skip_item(reviewer=physician, assignment_id=first.pk, reason="unsure")
    assert Assignment.objects.filter(reviewer=physician, status="skipped").count() == 1


def test_a_decision_after_a_skip_is_refused(review_items, physician):
    first = held(physician)
    skip_item(reviewer=physician, assignment_id=first.pk, reason="unsure")
    with pytest.raises(ReviewError, match="skipped"):
        submit_decision(reviewer=physician, assignment_id=first.pk, verdict="accept")


def test_a_decided_item_cannot_be_skipped(review_items, physician, physician2):
    first = held(physician)
    submit_decision(reviewer=physician, assignment_id=first.pk, verdict="accept")
    with pytest.raises(ReviewError):
        skip_item(reviewer=physician, assignment_id=first.pk, reason="unsure")
    with pytest.raises(NotYours):
        skip_item(reviewer=physician2, assignment_id=first.pk, reason="unsure")


def test_a_flagged_item_waits_for_the_answer_then_comes_back_to_its_reviewer(
    review_items, physician, physician2, senior
):
    first = held(physician)
    discussion = flag_for_discussion(reviewer=physician, assignment_id=first.pk, question="Is 2 g right?")
    # A retried flag stores one question.
    assert (
        flag_for_discussion(reviewer=physician, assignment_id=first.pk, question="Is 2 g right?")
        == discussion
    )
    # The item leaves the reviewer's queue and keeps its slot: nobody else gets it meanwhile.
    assert claim_next(physician).pk != first.item_id
    assert claim_next(physician2).pk != first.item_id
    with pytest.raises(ReviewError, match="not answered"):
        resume_discussed(reviewer=physician, discussion_id=discussion.pk)
    with pytest.raises(ReviewError, match="waits for the senior"):
        submit_decision(reviewer=physician, assignment_id=first.pk, verdict="accept")
    with pytest.raises(ReviewError, match="Write an answer"):
        answer_discussion(senior=senior, discussion_id=discussion.pk, answer="  ")
    answer_discussion(senior=senior, discussion_id=discussion.pk, answer="Yes, per the guideline.")
    answer_discussion(senior=senior, discussion_id=discussion.pk, answer="Yes, per the guideline.")
    assert Discussion.objects.get().answer == "Yes, per the guideline."
    resume_discussed(reviewer=physician, discussion_id=discussion.pk)
    assert claim_next(physician).pk == first.item_id  # in front of them again, to decide
    submit_decision(reviewer=physician, assignment_id=first.pk, verdict="accept")


def test_an_empty_question_is_refused_and_a_senior_does_not_answer_their_own(review_items, senior):
    first = held(senior)
    with pytest.raises(ReviewError, match="Write your question"):
        flag_for_discussion(reviewer=senior, assignment_id=first.pk, question=" ")
    assert Assignment.objects.get(pk=first.pk).status == "active"
    discussion = flag_for_discussion(reviewer=senior, assignment_id=first.pk, question="Unsure?")
    with pytest.raises(ReviewError, match="your own question"):
        answer_discussion(senior=senior, discussion_id=discussion.pk, answer="Fine.")


def test_a_comment_goes_with_any_verdict(review_items, physician):
    first = held(physician)
    decision = submit_decision(
        reviewer=physician, assignment_id=first.pk, verdict="accept", comment="Good, but terse."
    )
    assert decision.comment == "Good, but terse."


def test_a_skip_racing_the_same_reviewers_claims_never_gives_the_item_back(transactional_db, review_items):
    """Retried skips, claims and prefetches of one reviewer at the same moment, and another reviewer
    claiming: the skipped item goes to the other reviewer once and never back to the first."""
    import threading

    from django.db import connection

    from review.queue import prefetch_next
    from tests.conftest import make_user

    first, second = make_user("doc-a", "Physician"), make_user("doc-b", "Physician")
    skipped = held(first)
    barrier = threading.Barrier(7)
    errors: list[BaseException] = []
    got: list[tuple[str, int | None]] = []

    def run(name, call):
        try:
            barrier.wait(timeout=30)
            result = call()
            got.append((name, getattr(result, "item_id", getattr(result, "pk", None))))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    calls = [
        ("skip", lambda: skip_item(reviewer=first, assignment_id=skipped.pk, reason="not_my_specialty")),
        ("skip", lambda: skip_item(reviewer=first, assignment_id=skipped.pk, reason="not_my_specialty")),
        ("claim", lambda: claim_next(first)),
        ("claim", lambda: claim_next(first)),
        ("prefetch", lambda: prefetch_next(first)),
        ("prefetch", lambda: prefetch_next(first)),
        ("other", lambda: claim_next(second)),
    ]
    threads = [threading.Thread(target=run, args=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    mine = Assignment.objects.filter(item_id=skipped.item_id, reviewer=first)
    assert list(mine.values_list("status", flat=True)) == ["skipped"]
    # Whatever the first reviewer was handed after the skip, it is not the skipped item; and from now on
    # they never get it, while the other reviewer does.
    for _ in range(len(review_items)):
        item = claim_next(first)
        if item is None:
            break
        assert item.pk != skipped.item_id
        submit_decision(reviewer=first, assignment_id=item.assignment.pk, verdict="accept")
    while (item := claim_next(second)) is not None and item.pk != skipped.item_id:
        submit_decision(reviewer=second, assignment_id=item.assignment.pk, verdict="accept")
    assert Assignment.objects.filter(item_id=skipped.item_id).exclude(reviewer=first).count() <= 1
    assert Assignment.objects.filter(item_id=skipped.item_id, reviewer=second).exists()
