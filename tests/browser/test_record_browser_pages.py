"""A data lead goes from a batch's page to the record browser and opens one record's history (Chromium)."""

import re

from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from review.models import Assignment, ReviewItem
from review.queue import claim_next, submit_decision


def test_a_data_lead_opens_a_records_history_from_its_batch(live_server, demo_queue, browser):
    physician = get_user_model().objects.get(username="physician")
    item = claim_next(physician)
    assignment = Assignment.objects.get(item=item, reviewer=physician)
    submit_decision(reviewer=physician, assignment_id=assignment.pk, verdict="reject", reasons=["unsafe"])
    batch = ReviewItem.objects.get(pk=item.pk).batch

    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("datalead")
    page.get_by_label("Password").fill("datalead-demo-pass")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    page.goto(f"{live_server.url}/batches/{batch.pk}/")
    page.get_by_role("link", name="rejected").click()
    page.wait_for_url(re.compile(rf"/records/\?batch={batch.pk}&verdict=reject$"))
    rows = page.get_by_test_id("record-row")
    expect(rows).to_have_count(1)
    expect(page.get_by_label("Final verdict")).to_have_value("reject")

    rows.first.get_by_test_id("record-link").click()
    page.wait_for_url(re.compile(rf"/records/{item.candidate_id}/$"))
    expect(page.get_by_role("heading", name=f"Record #{item.candidate_id}")).to_be_visible()
    expect(page.get_by_test_id("final-verdict")).to_have_text("Reject")
    decision = page.get_by_test_id("decision")
    expect(decision).to_have_count(1)
    expect(decision).to_contain_text("physician")
    expect(decision.get_by_test_id("reason")).to_have_text("Unsafe")
    expect(page.get_by_test_id("quality-phi")).to_be_visible()
    context.close()
