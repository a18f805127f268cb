"""Database queries of the review loop, pinned: bench/review_load.py showed them to be what a
save-and-next costs under load, so a new query here should be a choice.

Save-and-next is one request: the decision's POST answers with the next item, already claimed, and
claims the one after it in the same transaction; the page fires no request of its own. The counts
include the session, the user and the permission look-up of every signed-in request; they leave
out the SAVEPOINT/RELEASE pairs the test's own transaction turns each `transaction.atomic` block into
(a server outside a test runs BEGIN/COMMIT instead). The content types the audit trail needs are
looked up once per process; they are warmed here as on a running server. Runs on SQLite and, with
`--postgres`, on PostgreSQL.
"""

import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from review.models import Assignment, Decision, ReviewItem

HTMX = {"HX-Request": "true"}

# Before: a cycle was three requests (GET the page, POST decide, POST prefetch fired by the returned
# fragment), 29 queries for decide and prefetch; 17 for one save-and-next at the start of this round.
# Issue 16 asks for at most 12; where the time goes is in bench/README.md ("Review load"). A steady
# cycle today, in one transaction: session, user, permissions (user's and groups' in one UNION query:
# core.permissions); the decision: reviewer, assignment and item locked in one statement, INSERT
# decision, one UPDATE marking the assignment submitted and the item claimed ahead shown, UPDATE item,
# one INSERT of both audit entries (the decision's and the item's, core.audit.write_entries); the
# next item: the reviewer's held items (with each candidate's quality results, the page's flags, and
# the progress line); the one after: claim search, one UPDATE that counts the item's live claims
# afresh and stores its hint if a slot is free, INSERT assignment.
FIRST_PAGE = 14  # GET /review/: claim the first item and count the queue
FIRST_CYCLE = 16  # the first save-and-next: nothing claimed ahead yet, so it claims two
CYCLE = 12  # POST decide (accept): the decision, the next item (claimed ahead) shown, the one after claimed


def queries(client, method: str, path: str, **kwargs) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(path, **kwargs)
    real = [q for q in captured.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    return len(real), response


def assignment_on(page) -> str:
    return re.search(r'data-assignment="(\d+)"', page.text).group(1)


@pytest.fixture
def reviewer_client(client, physician, review_items, settings):
    ContentType.objects.get_for_models(Decision, ReviewItem, Assignment)
    # "Left in the queue" is counted on the first request and then read from the cache.
    settings.REVIEW_PROGRESS_CACHE_SECONDS = 600
    cache.clear()
    client.force_login(physician)
    return client


def test_save_and_next_is_one_request_with_its_queries_pinned(reviewer_client, physician):
    client = reviewer_client
    count, page = queries(client, "get", "/review/")
    assert count <= FIRST_PAGE
    assert 'hx-trigger="load"' not in page.text  # nothing fires by itself
    for cycle in range(4):
        shown = assignment_on(page)
        count, page = queries(
            client, "post", f"/review/assignments/{shown}/decide/", data={"verdict": "accept"}, headers=HTMX
        )
        assert page.status_code == 200
        assert count <= (FIRST_CYCLE if cycle == 0 else CYCLE), count
        assert assignment_on(page) != shown
        assert Decision.objects.get(assignment_id=shown).verdict == "accept"
        # The next item is in front of the reviewer, and the one after it is claimed already.
        assert Assignment.objects.filter(reviewer=physician, status="active").count() == 2


def test_the_flags_are_read_with_the_held_items(reviewer_client, physician):
    """The gate's results come with the held item's query: none is queried for the page."""
    page = reviewer_client.get("/review/")
    shown = assignment_on(page)
    with CaptureQueriesContext(connection) as captured:
        page = reviewer_client.post(
            f"/review/assignments/{shown}/decide/", data={"verdict": "accept"}, headers=HTMX
        )
    assert 'data-testid="quality-flags"' in page.text
    assert not [q for q in captured.captured_queries if q["sql"].startswith('SELECT "synth_qualityresult"')]
