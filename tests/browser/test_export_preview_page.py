"""The data lead's export form in Chromium, from the demo: an empty export is announced before it is
made, the preview's count and first rows are what the export then writes, and the exports table says
what each export holds. No console error, no CSP violation."""

from __future__ import annotations

import json
import re
from pathlib import Path

from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from review.models import Assignment
from review.queue import claim_next, submit_decision
from tests.browser.conftest import assert_clean


def approve_all(username: str) -> int:
    reviewer = get_user_model().objects.get(username=username)
    n = 0
    while item := claim_next(reviewer):
        assignment = Assignment.objects.get(item=item, reviewer=reviewer)
        submit_decision(reviewer=reviewer, assignment_id=assignment.pk, verdict="accept")
        n += 1
    return n


def test_the_preview_announces_an_empty_export_then_matches_what_is_written(
    demo_queue, data_lead_page, live_server
):
    page = data_lead_page()  # seed_demo's data lead; nothing approved yet
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    warning = page.get_by_test_id("export-empty-warning")
    expect(warning).to_contain_text("This export would be empty.")
    expect(warning).to_contain_text("physicians have approved nothing yet")

    approved = approve_all("physician")
    assert approved == len(demo_queue)
    page.reload()
    expect(page.get_by_test_id("preview-count")).to_contain_text(f"would write {approved} record")
    # A change to the settings previews again: half to validation.
    page.get_by_text("Filters and split").click()
    page.get_by_label("Validation share").fill("0.5")
    # Read the rows only once the preview for the new share has arrived and been swapped in.
    with page.expect_response(lambda r: "/exports/preview/" in r.url and "validation_share=0.5" in r.url):
        page.get_by_label("Validation share").dispatch_event("change")
    page.wait_for_load_state("networkidle")
    expect(page.get_by_test_id("preview-row")).to_have_count(approved)
    rows = [
        (row.get_by_test_id("preview-id").inner_text(), row.locator("td").nth(1).inner_text())
        for row in page.get_by_test_id("preview-row").all()
    ]
    expect(page.get_by_test_id("preview-count")).to_contain_text(f"would write {approved} record")

    page.get_by_role("button", name="Create export").click()
    row = page.get_by_test_id("export-row").first
    expect(row.locator(".status")).to_have_text("Ready", timeout=60_000)
    settings = row.get_by_test_id("export-settings")
    expect(settings).to_contain_text("SFT (supervised fine-tuning) · JSON Lines")
    expect(settings).to_contain_text("Filters: none (every approved record)")
    expect(settings).to_contain_text("Split: 50% validation, seed 42")
    expect(row.get_by_test_id("export-counts")).to_contain_text(str(approved))

    written = {}
    for split in ("train", "validation"):
        link = row.get_by_role("link", name=f"{split}.jsonl")
        if not link.count():
            written[split] = []
            continue
        with page.expect_download() as download:
            link.click()
        lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
        written[split] = [json.loads(line)["id"] for line in lines]
    for split in ("train", "validation"):
        assert [record_id for record_id, s in rows if s == split] == written[split]
    assert_clean(page)
