"""The physician's and adjudicator's workspace in Chromium, from the demo (`seed_demo`): skip and flag
for discussion with the keyboard alone (no key fires while typing), a senior's answer coming back to
the reviewer, revising an old decision from My reviews, and the figures for the reviewer and the
data lead."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from review.models import Assignment, Decision, Discussion, ReviewItem
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def item_id(page) -> int:
    return int(re.search(r"Item #(\d+)", page.get_by_test_id("item-meta").inner_text()).group(1))


def next_item(page, after: int) -> int:
    expect(page.get_by_test_id("item-meta")).not_to_contain_text(f"Item #{after} ")
    return item_id(page)


def signed_in(browser, live_server, username: str):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{live_server.url}/accounts/login/")
    sign_in(page, username)
    return page


def test_skip_and_flag_for_discussion_with_the_keyboard_alone(demo_queue, demo_login, live_server, browser):
    page = demo_login("physician")
    keys = page.keyboard
    expect(page.get_by_test_id("shortcuts")).to_contain_text("S skip")
    expect(page.get_by_test_id("shortcuts")).to_contain_text("D flag for discussion")

    # Typing in the comment box is typing: s, d, a, 1, 2 decide nothing.
    page.locator("#decision-note").focus()
    keys.type("sad 12 as")
    expect(page.locator("#decision-note")).to_have_value("sad 12 as")
    assert not Decision.history.exists() and not Assignment.objects.filter(status="skipped").exists()
    page.locator("#decision-note").fill("")
    page.get_by_test_id("item").focus()

    # Skip: S opens its panel, 2 ("I am unsure") passes the item on.
    skipped = item_id(page)
    keys.press("s")
    expect(page.locator("#skip-panel")).to_have_attribute("open", "")
    keys.press("2")
    expect(page.get_by_test_id("notice")).to_contain_text(f"You skipped item #{skipped}")
    asked = next_item(page, skipped)

    # Flag for discussion: D focuses the question; its letters are typed, Ctrl+Enter sends it.
    keys.press("d")
    expect(page.locator("#discuss-question")).to_be_focused()
    keys.type("Is the dose right for adults? s d a 1")
    keys.press("Control+Enter")
    expect(page.get_by_test_id("notice")).to_contain_text("went to the senior physicians")
    current = next_item(page, asked)

    # Accept the rest with A: the skipped item never comes back, the asked one waits.
    seen = [current]
    while page.get_by_test_id("queue-empty").count() == 0:
        keys.press("a")
        expect(page.get_by_test_id("item")).not_to_contain_text(f"Item #{seen[-1]} ")
        if page.get_by_test_id("queue-empty").count():
            break
        seen.append(item_id(page))
    assert skipped not in seen and asked not in seen
    assignment = Assignment.objects.get(item_id=skipped, reviewer__username="physician")
    assert (assignment.status, assignment.skip_reason) == ("skipped", "unsure")
    assert Discussion.objects.get().question == "Is the dose right for adults? s d a 1"
    assert not Decision.history.filter(item_id__in=[skipped, asked]).exists()

    # The skipped item goes to another physician.
    other = demo_login("physician2")
    assert item_id(other) == skipped

    # A senior physician answers from the discussion list.
    senior = signed_in(browser, live_server, "senior")
    senior.get_by_role("link", name="Discussions").click()
    expect(senior.get_by_test_id("question")).to_have_text("Is the dose right for adults? s d a 1")
    senior.get_by_label("Your answer").fill("Yes: 500 mg every 8 hours.")
    senior.get_by_test_id("send-answer").click()
    expect(senior.get_by_role("status")).to_contain_text("went back to its reviewer")
    expect(senior.get_by_test_id("no-open-discussions")).to_be_visible()

    # The answer comes back to the reviewer, who takes the item back and decides it.
    page.get_by_role("link", name="My questions").click()
    expect(page.get_by_test_id("answer")).to_contain_text("500 mg every 8 hours")
    page.get_by_test_id("decide-now").click()
    expect(page).to_have_url(re.compile(r"/review/$"))
    expect(page.get_by_role("status").filter(has_text="500 mg every 8 hours")).to_be_visible()
    assert item_id(page) == asked
    keys.press("a")
    expect(page.get_by_test_id("item")).not_to_contain_text(f"Item #{asked} ")
    assert Decision.objects.get(item_id=asked).verdict == "accept"


def test_a_physician_revises_an_old_decision_and_sees_their_figures(
    demo_queue, demo_login, live_server, browser
):
    page = demo_login("physician")
    keys = page.keyboard
    first = item_id(page)
    page.locator("#decision-note").fill("Clear and correct.")
    page.get_by_test_id("item").focus()
    keys.press("a")
    second = next_item(page, first)
    keys.press("a")
    next_item(page, second)
    assert Decision.objects.get(item_id=first).comment == "Clear and correct."

    # My reviews: newest first, filtered by verdict; open the first decision and revise it.
    page.get_by_role("link", name="My reviews").first.click()
    rows = page.get_by_test_id("my-decision")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(f"#{second}")
    page.get_by_label("Verdict").select_option("reject")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("no-decisions")).to_be_visible()
    page.goto(f"{live_server.url}/review/mine/?verdict=accept&date_from=not-a-date")
    expect(page.get_by_test_id("filter-error")).to_contain_text("Decided from")
    expect(rows).to_have_count(2)
    page.get_by_role("link", name=f"#{first}", exact=True).click()
    expect(page.get_by_test_id("verdict")).to_have_text("Accept")
    expect(page.get_by_test_id("comment")).to_have_text("Clear and correct.")

    # A bad revision is refused with a message; nothing changes.
    page.get_by_label("Reject").check()
    page.get_by_test_id("revise").click()
    expect(page.get_by_test_id("error")).to_contain_text("at least one reason")
    assert Decision.history.filter(item_id=first).count() == 1

    page.get_by_label("Reject").check()
    page.get_by_label("Factually wrong").check()
    page.get_by_label("Comment (any verdict").fill("The dose is wrong on second reading.")
    page.get_by_test_id("revise").click()
    expect(page.get_by_role("status")).to_contain_text("is now: reject")
    expect(page.get_by_test_id("verdict")).to_have_text("Reject")
    assert [d.verdict for d in Decision.history.filter(item_id=first).order_by("pk")] == ["accept", "reject"]
    assert Decision.objects.get(item_id=first).verdict == "reject"
    assert ReviewItem.objects.get(pk=first).final_verdict == "reject"

    # The superseded decision says so and can no longer be revised.
    page.goto(f"{live_server.url}/review/mine/{Decision.history.get(item_id=first, verdict='accept').pk}/")
    expect(page.get_by_test_id("refusal")).to_contain_text("revised this decision already")

    # Figures: the physician's own, and the data lead's view of every reviewer.
    page.goto(f"{live_server.url}/review/figures/")
    expect(page.get_by_test_id("items")).to_have_text("2")
    lead = signed_in(browser, live_server, "datalead")
    lead.get_by_role("navigation", name="Main").get_by_role("link", name="Reviewers").click()
    figures = lead.locator('[data-reviewer="physician"]')
    expect(figures.get_by_test_id("items")).to_have_text("2")
