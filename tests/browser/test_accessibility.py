"""No serious or critical axe-core violation on the pages physicians and senior physicians work in
(review, history, discussion, figures, adjudication), from the demo's defaults, with an item in front
of them."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from review.models import Assignment, ReviewItem
from review.queue import claim_next, submit_decision
from tests.browser.accessibility import serious_violations

pytestmark = pytest.mark.browser


def disagree_on(item: ReviewItem) -> None:
    """Two physicians disagree on `item` (accept against reject), so it waits for adjudication."""
    ReviewItem.objects.filter(pk=item.pk).update(required_reviews=2)
    for username, verdict in (("physician", "accept"), ("physician2", "reject")):
        reviewer = get_user_model().objects.get(username=username)
        claimed = claim_next(reviewer)
        assert claimed.pk == item.pk
        assignment = Assignment.objects.get(item=claimed, reviewer=reviewer)
        reasons = ["factually_wrong"] if verdict == "reject" else []
        submit_decision(reviewer=reviewer, assignment_id=assignment.pk, verdict=verdict, reasons=reasons)


def test_the_review_and_adjudication_pages_have_no_serious_violation(demo_queue, demo_login):
    disagree_on(demo_queue[0])

    physician = demo_login("physician")
    expect(physician.get_by_test_id("item-meta")).to_be_visible()
    assert serious_violations(physician) == []
    physician.keyboard.press("e")  # the edit panel open, with its live diff
    assert serious_violations(physician) == []
    physician.keyboard.press("Escape")
    physician.keyboard.press("r")  # the reject panel with its reasons
    assert serious_violations(physician) == []
    base = physician.url.removesuffix("/review/")
    for page in ("/review/mine/", "/review/discussions/", "/review/figures/"):  # history, questions, figures
        physician.goto(base + page)
        assert physician.get_by_role("heading", level=1).count() >= 1, page
        assert serious_violations(physician) == [], page

    senior = demo_login("senior")
    base = senior.url.removesuffix("/review/")
    senior.goto(f"{base}/adjudication/")
    expect(senior.get_by_test_id("adjudication-queue")).to_be_visible()
    assert serious_violations(senior) == []
    senior.goto(f"{base}/adjudication/{demo_queue[0].pk}/")
    expect(senior.get_by_test_id("final-verdict")).to_be_visible()
    assert serious_violations(senior) == []
    senior.goto(f"{base}/discussions/")  # the questions waiting for a senior physician
    assert serious_violations(senior) == []
