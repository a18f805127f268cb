"""A confusion-matrix cell on the dashboard, clicked in Chromium, opens the record browser on its items."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from review.models import Assignment, Decision, ReviewItem, SamplingPolicy
from review.queue import claim_next, submit_decision
from tests.browser.accessibility import serious_violations
from tests.browser.conftest import assert_clean


def review_all(username: str, verdict_of) -> None:
    reviewer = get_user_model().objects.get(username=username)
    n = 0
    while item := claim_next(reviewer):
        assignment = Assignment.objects.get(item=item, reviewer=reviewer)
        verdict = verdict_of(n)
        extra = {"reasons": ["factually_wrong"]} if verdict == "reject" else {}
        submit_decision(reviewer=reviewer, assignment_id=assignment.pk, verdict=verdict, **extra)
        n += 1


def test_clicking_a_cell_lists_its_items(db, data_lead_page, live_server):
    call_command("seed_demo")
    SamplingPolicy.objects.create(
        name="Everything, twice", rate=1.0, overlap_fraction=1.0, overlap_reviewers=2
    )
    call_command("generate", technique="self_instruct", count=6, domain=["infectious-disease"])
    assert ReviewItem.objects.filter(required_reviews=2).count() >= 3
    # The first physician approves everything; the second rejects every other item.
    review_all("physician", lambda n: "accept")
    review_all("physician2", lambda n: "reject" if n % 2 == 0 else "accept")
    # The cell to click: the physician accepted, the second physician rejected.
    want = {"physician": "accept", "physician2": "reject"}
    said: dict[str, dict[int, str]] = {name: {} for name in want}
    for d in Decision.objects.select_related("item", "reviewer"):
        said[d.reviewer.username][d.item.candidate_id] = d.verdict
    expected = {c for c in said["physician"] if all(said[n].get(c) == v for n, v in want.items())}
    assert expected
    # The dashboard's pair puts the reviewer with the lower id first (rows), as the report does.
    a, b = (u.username for u in get_user_model().objects.filter(username__in=want).order_by("pk"))

    page = data_lead_page()
    page.goto(f"{live_server.url}/dashboard/")
    items = "item" if len(expected) == 1 else "items"
    cell = page.get_by_role("link", name=f"{len(expected)} {items}: {a} {want[a]}, {b} {want[b]}")
    expect(cell).to_have_text(str(len(expected)))
    assert serious_violations(page) == []
    cell.click()
    page.wait_for_url(re.compile(r"/records/\?reviewer_a="))
    rows = page.get_by_test_id("record-row")
    expect(rows).to_have_count(len(expected))
    shown = {int(n) for n in rows.evaluate_all("(rows) => rows.map((r) => r.dataset.record)")}
    assert shown == expected
    expect(page.get_by_test_id("pair-hint")).to_contain_text(f"{a} gave {want[a]} and {b} gave {want[b]}")
    assert serious_violations(page) == []
    assert_clean(page)
