"""Database queries per request of the review loop (claim, prefetch, submit), pinned: bench/review_load.py
showed them to be what a save-and-next costs under load, so a new query here should be a choice.

The counts include the session, the user and the two permission look-ups of every signed-in request,
and the SAVEPOINT/RELEASE pair the test's own transaction turns each `transaction.atomic` block into
(a server outside a test runs BEGIN/COMMIT instead, which are not counted). The content types the
audit trail needs are looked up once per process; they are warmed here as on a running server.
"""

import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache

from review.models import Assignment, Decision, ReviewItem

HTMX = {"HX-Request": "true"}

# Before this was cut: claim 20, prefetch 12, submit 29 (bench/README.md, "Review load"; measured
# outside a test transaction, so without savepoints: subtract two per atomic block to compare).
NEW_CLAIM = 16  # GET /review/ claiming a new item (and counting the queue, not yet cached): 14 real
HELD = 10  # GET /review/ showing the item already held: 8 real
PREFETCH = 12  # POST /review/prefetch/ claiming the item after it: 10 real (one is the reviewer's row lock
# that keeps HELD_AT_MOST under concurrent requests, issue 17; claim and submit saved one reading
# the settled version instead of every revision, so they stay as they were)
SUBMIT = 21  # POST decide (accept), answering with the next, prefetched item: 17 real


@pytest.fixture
def reviewer_client(client, physician, review_items, settings):
    ContentType.objects.get_for_models(Decision, ReviewItem, Assignment)
    # "Left in the queue" is counted on the first request and then read from the cache.
    settings.REVIEW_PROGRESS_CACHE_SECONDS = 600
    cache.clear()
    client.force_login(physician)
    return client


def assignment_on(page) -> str:
    return re.search(r'data-assignment="(\d+)"', page.text).group(1)


def test_the_review_loop_keeps_its_query_counts(reviewer_client, django_assert_max_num_queries):
    client = reviewer_client
    with django_assert_max_num_queries(NEW_CLAIM):
        page = client.get("/review/")
    with django_assert_max_num_queries(HELD):
        assert assignment_on(client.get("/review/")) == assignment_on(page)
    with django_assert_max_num_queries(PREFETCH):
        assert client.post("/review/prefetch/", headers=HTMX).status_code == 204
    with django_assert_max_num_queries(SUBMIT):
        answer = client.post(
            f"/review/assignments/{assignment_on(page)}/decide/", {"verdict": "accept"}, headers=HTMX
        )
    assert answer.status_code == 200
    assert assignment_on(answer) != assignment_on(page)
    assert Decision.objects.get(assignment_id=assignment_on(page)).verdict == "accept"
