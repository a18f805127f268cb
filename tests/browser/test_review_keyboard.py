"""A physician's session with the keyboard alone: accept, edit with its diff, reject with reasons, undo,
a preference pair, and a draft that survives a reload."""

import re

import pytest
from playwright.sync_api import expect

from review.models import Assignment, Decision, ReviewItem
from synth.models import Candidate

pytestmark = pytest.mark.browser


def item_id(page) -> int:
    return int(re.search(r"Item #(\d+)", page.get_by_test_id("item-meta").inner_text()).group(1))


def next_item(page, after: int) -> int:
    expect(page.get_by_test_id("item-meta")).not_to_contain_text(f"Item #{after} ")
    return item_id(page)


def test_a_physician_reviews_with_the_keyboard_alone(live_server, login, physician, review_items):
    pair = review_items[3]
    Candidate.objects.filter(pk=pair.candidate_id).update(rejected_output="A second, weaker answer.")
    page = login(physician)
    expect(page).to_have_url(re.compile(r"/review/$"))
    keys = page.keyboard

    # Accept.
    accepted = item_id(page)
    keys.press("a")
    edited = next_item(page, accepted)
    expect(page.get_by_test_id("reviewed-today")).to_have_text("1")

    # Edit: the diff against the original shows before saving.
    keys.press("e")
    expect(page.locator("#edit-output")).to_be_focused()
    keys.press("Control+a")
    keys.type("A physician's corrected answer.")
    # (The original may share a word such as "A" with the new text; the diff leaves shared words unmarked.)
    expect(page.get_by_test_id("diff").locator("ins")).to_contain_text("physician's corrected answer.")
    keys.press("Control+Enter")
    rejected = next_item(page, edited)

    # Reject with two reasons: "1" factually wrong, "2" unsafe.
    keys.press("r")
    keys.press("1")
    keys.press("2")
    keys.press("Control+Enter")
    after_reject = next_item(page, rejected)
    expect(page.get_by_test_id("reviewed-today")).to_have_text("3")

    # Undo the reject: the item comes back, the undone decision stays on record.
    keys.press("u")
    expect(page.get_by_role("status").filter(has_text="was undone")).to_be_visible()
    assert item_id(page) == rejected
    keys.press("r")
    keys.press("3")
    keys.press("Control+Enter")
    assert next_item(page, rejected) == after_reject == pair.pk

    # A pair: choose B with "2", then accept.
    expect(page.get_by_test_id("response-B")).to_be_visible()
    keys.press("2")
    keys.press("a")
    draft_item = next_item(page, pair.pk)

    # Autosave: a half-written edit survives a reload.
    keys.press("e")
    expect(page.locator("#edit-output")).to_be_focused()
    keys.press("Control+a")
    keys.type("Half-written correction")
    # The diff comes back with the saved draft: once it shows the typed text, that text is stored.
    expect(page.get_by_test_id("diff").locator("ins")).to_contain_text("Half-written correction")
    expect(page.get_by_test_id("draft-saved")).to_be_visible()
    page.reload()
    expect(page.get_by_test_id("draft-restored")).to_be_visible()
    expect(page.locator("#edit-output")).to_have_value("Half-written correction")
    assert item_id(page) == draft_item
    page.locator("#edit-output").focus()
    keys.press("Control+Enter")
    next_item(page, draft_item)

    decisions = {d.item_id: d for d in Decision.objects.all()}
    assert decisions[accepted].verdict == "accept"
    assert decisions[edited].revision.output == "A physician's corrected answer."
    assert decisions[rejected].reasons == ["phi"]
    assert Decision.history.get(item_id=rejected, undone_at__isnull=False).reasons == [
        "factually_wrong",
        "unsafe",
    ]
    swapped = Assignment.objects.get(item_id=pair.pk, reviewer=physician).pair_swapped
    assert decisions[pair.pk].preference == ("output" if swapped else "rejected_output")
    assert ReviewItem.objects.get(pk=pair.pk).final_preference == decisions[pair.pk].preference
    assert decisions[draft_item].revision.output == "Half-written correction"
    assert all(d.seconds_spent is not None for d in decisions.values())
