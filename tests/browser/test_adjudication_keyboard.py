"""A senior physician settles disagreements with the review page's keys, one after the other, and sees
who voted what before and who settled what after."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from review.models import Adjudication, Assignment, ReviewItem
from review.queue import claim_next, submit_decision

pytestmark = pytest.mark.browser

# What the two physicians said about the first four items: each pair disagrees.
VOTES = [("accept", "reject"), ("accept", "reject"), ("edit", "accept"), ("reject", "accept")]


def decide(username: str, verdict: str) -> None:
    reviewer = get_user_model().objects.get(username=username)
    item = claim_next(reviewer)
    assignment = Assignment.objects.get(item=item, reviewer=reviewer)
    extra = {}
    if verdict == "reject":
        extra["reasons"] = ["factually_wrong"]
    elif verdict == "edit":
        extra = {
            "instruction": item.candidate.instruction,
            "task_input": item.candidate.input,
            "output": "The answer as the first physician corrected it.",
            "based_on": 0,
        }
    submit_decision(reviewer=reviewer, assignment_id=assignment.pk, verdict=verdict, **extra)


def item_in_url(page) -> int:
    return int(re.search(r"/adjudication/(\d+)/$", page.url).group(1))


def test_a_senior_settles_disagreements_with_the_keyboard_alone(demo_queue, demo_login):
    items = demo_queue[:4]
    # A sampling policy asking for two reviewers would set this; here the first four items get two.
    ReviewItem.objects.filter(pk__in=[i.pk for i in items]).update(required_reviews=2)
    for first, second in VOTES:
        decide("physician", first)
        decide("physician2", second)
    assert ReviewItem.objects.filter(status="needs_adjudication").count() == 4

    page = demo_login("senior")
    page.goto(page.url.replace("/review/", "/adjudication/"))
    queue = page.get_by_test_id("adjudication-queue")
    expect(queue.get_by_test_id("votes").first).to_have_text(
        re.compile(r"physician: Accept\s*physician2: Reject \(Factually wrong\)")
    )
    keys = page.keyboard
    queue.get_by_role("link").first.focus()
    keys.press("Enter")
    expect(page.get_by_test_id("final-verdict")).to_be_focused()

    # 1. Accept against reject: the one text is chosen already; A accepts it and the next one opens.
    first = item_in_url(page)
    keys.press("a")
    expect(page.get_by_role("status")).to_have_text(
        f"Item #{first} is settled. This is the next disagreement."
    )

    # 2. Reject: R puts the cursor in "Why"; Ctrl+Enter rejects.
    second = item_in_url(page)
    keys.press("r")
    expect(page.locator("#adj-comment")).to_be_focused()
    keys.type("Contradicts the guideline.")
    keys.press("Control+Enter")
    expect(page.get_by_role("status")).to_contain_text(f"Item #{second} is settled")

    # 3. Two texts: 1 chooses the first physician's edit, A accepts it.
    third = item_in_url(page)
    expect(page.get_by_test_id("proposal")).to_have_count(2)
    keys.press("1")
    expect(page.get_by_test_id("choose-text-a")).to_be_checked()
    keys.press("a")
    expect(page.get_by_role("status")).to_contain_text(f"Item #{third} is settled")

    # 4. E: the senior writes the final text; Esc first shows that a panel closes without a trace.
    fourth = item_in_url(page)
    keys.press("e")
    expect(page.locator("#adj-output")).to_be_focused()
    keys.press("Escape")
    expect(page.get_by_test_id("final-verdict")).to_be_focused()
    keys.press("e")
    keys.press("Control+a")
    keys.type("The senior physician's final answer.")
    keys.press("Control+Enter")
    expect(page.get_by_role("status")).to_have_text(
        f"Item #{fourth} is settled, and no other disagreement is waiting for you."
    )
    expect(page.get_by_test_id("adjudication-empty")).to_be_visible()

    # The settled list: outcome, who settled it and why, newest first.
    rows = page.get_by_test_id("settled-row")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("Accepted with the senior's own text")
    expect(rows.nth(1)).to_contain_text("Accepted a reviewer's edit")
    expect(rows.nth(2)).to_contain_text("Rejected")
    expect(rows.nth(2)).to_contain_text("Contradicts the guideline.")
    expect(rows.nth(3)).to_contain_text("Accepted the original text")
    expect(rows.nth(3)).to_contain_text("senior")

    settled = {a.item_id: a for a in Adjudication.objects.all()}
    assert [settled[pk].verdict for pk in (first, second, third, fourth)] == [
        "accept",
        "reject",
        "accept",
        "edit",
    ]
    assert settled[third].revision.output == "The answer as the first physician corrected it."
    assert settled[fourth].revision.output == "The senior physician's final answer."
    assert set(ReviewItem.objects.filter(pk__in=[i.pk for i in items]).values_list("status", flat=True)) == {
        "decided"
    }
