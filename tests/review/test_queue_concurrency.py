"""Many reviewers claiming at the same moment (threads with their own connections): no item is handed
out twice. Run with `--postgres` this exercises SELECT ... FOR UPDATE SKIP LOCKED for real."""

import threading
from collections import Counter

from django.db import connection

from review.models import Assignment, ReviewItem
from review.queue import claim_next, submit_decision
from tests.conftest import make_user
from tests.review.leases import let_leases_expire


def claim_all_at_once(reviewers, rounds=1, decide=False):
    barrier = threading.Barrier(len(reviewers))
    claims: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def work(reviewer):
        try:
            got = []
            barrier.wait(timeout=30)
            for _ in range(rounds):
                item = claim_next(reviewer)
                if item is None:
                    break
                got.append(item.pk)
                if decide:
                    submit_decision(reviewer=reviewer, assignment_id=item.assignment.pk, verdict="accept")
            claims[reviewer.pk] = got
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(r,)) for r in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return claims


def test_reviewers_claiming_at_once_never_get_the_same_item(transactional_db, review_items):
    reviewers = [make_user(f"doc{n}", "Physician") for n in range(len(review_items) + 4)]
    claims = claim_all_at_once(reviewers)
    handed_out = [pk for got in claims.values() for pk in got]
    assert len(handed_out) == len(set(handed_out)) == len(review_items)
    assert Assignment.objects.count() == len(review_items)


def test_double_review_items_go_to_exactly_two_different_reviewers(transactional_db, review_items):
    ReviewItem.objects.update(required_reviews=2)
    reviewers = [make_user(f"doc{n}", "Physician") for n in range(8)]
    claims = claim_all_at_once(reviewers, rounds=len(review_items), decide=True)
    per_item = Counter(pk for got in claims.values() for pk in got)
    assert set(per_item.values()) == {2} and len(per_item) == len(review_items)
    for got in claims.values():
        assert len(got) == len(set(got))  # never the same item twice to one reviewer
    assert set(ReviewItem.objects.values_list("status", flat=True)) == {"decided"}


def test_an_expired_lease_returns_its_item_while_others_claim(transactional_db, review_items):
    walked_away = make_user("walked-away", "Physician")
    abandoned = claim_next(walked_away)
    let_leases_expire(reviewer=walked_away)
    reviewers = [make_user(f"doc{n}", "Physician") for n in range(len(review_items))]
    claims = claim_all_at_once(reviewers)
    handed_out = [pk for got in claims.values() for pk in got]
    assert abandoned.pk in handed_out
    assert len(handed_out) == len(set(handed_out)) == len(review_items)
