"""Reject reasons are shown by their labels (RejectReason.choices) on every page that shows them,
never as the stored code."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from review.models import Assignment, Decision, ReviewItem
from review.queue import claim_next, submit_decision

CODES = ("factually_wrong", "low_quality")
LABELS = ("Factually wrong", "Low quality")


def visible(html: str) -> str:
    """The page's text as a reader sees it: no tags, so no attribute values (a checkbox's value)."""
    return re.sub(r"<[^>]+>", " ", html)


@pytest.fixture
def disputed(review_items, physician, physician2) -> Decision:
    """Physician accepts, physician2 rejects with two reasons: the item waits for adjudication."""
    item = review_items[0]
    ReviewItem.objects.filter(pk=item.pk).update(required_reviews=2)
    decisions = []
    for reviewer, verdict in ((physician, "accept"), (physician2, "reject")):
        claimed = claim_next(reviewer)
        assert claimed.pk == item.pk
        assignment = Assignment.objects.get(item=claimed, reviewer=reviewer)
        reasons = list(CODES) if verdict == "reject" else []
        decisions.append(
            submit_decision(reviewer=reviewer, assignment_id=assignment.pk, verdict=verdict, reasons=reasons)
        )
    return decisions[1]


def assert_labelled(html: str) -> None:
    text = visible(html)
    for code, label in zip(CODES, LABELS, strict=True):
        assert code not in text
        assert label in text


def test_it_labels_reasons_on_the_reviewers_own_decision(client_for, physician2, disputed):
    client = client_for(physician2)
    assert not any(code in visible(client.get(reverse("review:my_reviews")).text) for code in CODES)
    assert_labelled(client.get(reverse("review:my_decision", args=[disputed.pk])).text)


def test_it_labels_reasons_on_the_adjudication_pages(client_for, senior, disputed):
    client = client_for(senior)
    assert_labelled(client.get(reverse("review:adjudication_list")).text)
    assert_labelled(client.get(reverse("review:adjudicate", args=[disputed.item_id])).text)


def test_it_labels_reasons_on_the_record_page(client_for, data_lead, disputed):
    client = client_for(data_lead)
    record = ReviewItem.objects.get(pk=disputed.item_id).candidate_id
    page = client.get(reverse("review:record", args=[record])).text
    assert_labelled(page)
