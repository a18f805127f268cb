"""The review page's "left for you": what this reviewer can still review, not everyone's pending items."""

import re
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from review.models import Assignment, ReviewItem
from review.queue import flag_for_discussion, left_in_queue, show_next, skip_item, submit_decision

HTMX = {"HX-Request": "true"}


@pytest.fixture
def demo_queue(db, settings):
    """seed_demo's data and an offline run whose six candidates all go to review, one review each."""
    settings.REVIEW_PROGRESS_CACHE_SECONDS = 0  # every page counts afresh
    cache.clear()
    call_command("seed_demo", "--no-users")
    call_command("generate", technique="self_instruct", count=6, sample=1.0, domain=["infectious-disease"])
    items = list(ReviewItem.objects.order_by("pk"))
    assert len(items) == 6
    return items


def left(page) -> tuple[int, str]:
    yours = int(re.search(r'data-testid="left-in-queue">(\d+)<', page).group(1))
    others = re.search(r'data-testid="with-others">\((\d+) more with other reviewers\)', page)
    return yours, others.group(1) if others else ""


def assignment_on(page) -> str:
    return re.search(r'data-assignment="(\d+)"', page).group(1)


def test_it_counts_what_this_reviewer_can_still_claim(client, physician, physician2, demo_queue):
    client.force_login(physician2)
    client.get(reverse("review:review"))  # physician2 now holds one item

    client.force_login(physician)
    page = client.get(reverse("review:review")).text
    # The one in front of them and four more they can claim; one is physician2's.
    assert left(page) == (5, "1")


def test_an_empty_queue_says_the_rest_is_with_other_reviewers(client, physician, physician2, demo_queue):
    client.force_login(physician2)
    client.get(reverse("review:review"))

    client.force_login(physician)
    page = client.get(reverse("review:review")).text
    for _ in range(5):
        page = client.post(
            reverse("review:decide", args=[assignment_on(page)]), {"verdict": "accept"}, headers=HTMX
        ).text
    assert 'data-testid="queue-empty"' in page
    assert "Nothing left to review — 1 item is with other reviewers." in page
    assert left(page) == (0, "1")


def test_an_empty_queue_with_nothing_pending_says_only_that(client, physician, demo_queue):
    client.force_login(physician)
    page = client.get(reverse("review:review")).text
    assert left(page) == (6, "")
    for _ in range(6):
        page = client.post(
            reverse("review:decide", args=[assignment_on(page)]), {"verdict": "accept"}, headers=HTMX
        ).text
    assert "Nothing left to review. New items arrive" in page
    assert left(page) == (0, "")


def test_an_item_waiting_for_a_second_reviewer_is_with_others_for_the_first(
    client, physician, physician2, demo_queue
):
    ReviewItem.objects.filter(pk=demo_queue[0].pk).update(required_reviews=2)
    client.force_login(physician)
    page = client.get(reverse("review:review")).text
    page = client.post(
        reverse("review:decide", args=[assignment_on(page)]), {"verdict": "accept"}, headers=HTMX
    ).text
    assert left(page) == (5, "1")  # the overlap item waits for another physician, not for them

    # The overlap item is theirs to take; physician holds the next one and the one after it.
    client.force_login(physician2)
    assert left(client.get(reverse("review:review")).text) == (4, "2")


def left_by_definition(reviewer) -> tuple[int, int]:
    """The count's meaning, judged item by item over every pending item: theirs if they hold it, or
    they never had it and its live assignments leave a slot free."""
    now = timezone.now()
    yours = others = 0
    for item in ReviewItem.objects.filter(status=ReviewItem.Status.PENDING):
        assignments = list(item.assignments.all())
        live = [
            a
            for a in assignments
            if a.status in ("submitted", "discussing") or (a.status == "active" and a.lease_expires_at > now)
        ]
        mine = [a for a in assignments if a.reviewer_id == reviewer.pk]
        held = any(a.status == "active" and a.lease_expires_at > now for a in mine)
        if held or (not mine and len(live) < item.required_reviews):
            yours += 1
        else:
            others += 1
    return yours, others


def test_the_count_matches_its_definition_through_claims_decisions_skips_questions_and_expiry(
    physician, physician2, senior, demo_queue, settings
):
    """The count looks only at items whose claim hint says "full for now" and at the reviewer's own:
    every way a slot is taken or freed must keep those hints honest, or the count drifts."""
    ReviewItem.objects.filter(pk__in=[item.pk for item in demo_queue[:4]]).update(required_reviews=2)
    reviewers = [physician, physician2, senior]

    def check(step: str) -> None:
        for reviewer in reviewers:
            counted = left_in_queue(reviewer)
            assert (counted.yours, counted.with_others) == left_by_definition(reviewer), (step, reviewer)

    check("nothing claimed")
    settings.REVIEW_LEASE_MINUTES = 0.02  # physician's leases end first (about a second)
    first = show_next(physician, claim_ahead=True)  # holds items 1 and 2
    settings.REVIEW_LEASE_MINUTES = 30
    show_next(physician2, claim_ahead=True)  # items 1 and 2 are full now
    check("two reviewers on two double-review items")
    submit_decision(reviewer=physician, assignment_id=first.assignment.pk, verdict="accept")
    check("one of them half decided")
    second = show_next(physician)
    flag_for_discussion(
        reviewer=physician, assignment_id=second.assignment.pk, question="Dose in renal failure?"
    )
    check("the other one asked about")
    # The decided and discussed slots had the earliest leases; once those times pass, both items are
    # still full (a decision and a question hold their slots), whatever the leases said.
    time.sleep(max(0.0, (first.assignment.lease_expires_at - timezone.now()).total_seconds()) + 0.2)
    check("the first leases' time passed")
    third = show_next(physician2)
    skip_item(reviewer=physician2, assignment_id=third.assignment.pk, reason="not_my_specialty")
    check("a skip")
    Assignment.objects.filter(status="active").update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    check("every lease run out")
    show_next(senior, claim_ahead=True)
    check("a third reviewer claims")
