"""The review page's "left for you": what this reviewer can still review, not everyone's pending items."""

import re

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse

from review.models import ReviewItem

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
