"""The review page at a laptop's width (1280x800), from the demo (`seed_demo`): the item, its flags and
the actions in view without scrolling, the editor beside its live diff, the guidelines as a side panel
(G) that leaves the work in progress alone, a backtranslation's source document, and axe-core with
those panels open. Keyboard alone."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from review.demo_data import GUIDELINES_TITLE
from review.models import ReviewItem
from synth.models import SourceDocument
from tests.browser.accessibility import serious_violations

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1280, "height": 800}


@pytest.fixture
def laptop(demo_login):
    """A demo account signed in on a 1280x800 window, on the review page."""

    def open_as(username: str):
        page = demo_login(username, viewport=LAPTOP)
        expect(page.get_by_test_id("item-meta")).to_be_visible()
        return page

    return open_as


def in_view(page, locator) -> bool:
    """Whether the whole of what `locator` shows is inside the window as it is scrolled now."""
    box = locator.bounding_box()
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    return (
        box is not None
        and box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= width
        and box["y"] + box["height"] <= height
    )


def shown_item(page) -> ReviewItem:
    number = int(re.search(r"Item #(\d+)", page.get_by_test_id("item-meta").inner_text()).group(1))
    return ReviewItem.objects.select_related("candidate").get(pk=number)


def summary(page, name: str):
    return page.locator("summary", has_text=name).first


def edit_and_type(page, words: str):
    """E opens the editor on the response; the words go at its end."""
    page.keyboard.press("e")
    editor = page.get_by_role("textbox", name="Response", exact=True)
    expect(editor).to_be_focused()
    page.keyboard.press("Control+End")
    page.keyboard.type(words)
    return editor


def test_it_shows_the_item_its_flags_and_the_actions_without_scrolling(demo_queue, laptop):
    page = laptop("physician")
    assert page.evaluate("window.scrollY") == 0
    for shown in (
        page.get_by_test_id("instruction"),
        page.get_by_test_id("response"),
        page.get_by_test_id("quality-flags"),
        page.get_by_role("button", name="Accept"),
        summary(page, "Edit"),
        summary(page, "Reject"),
    ):
        expect(shown).to_be_visible()
        assert in_view(page, shown), shown


def test_it_puts_the_editor_and_its_live_diff_side_by_side(demo_queue, laptop):
    page = laptop("physician")
    editor = edit_and_type(page, " Check renal function before the first dose.")
    diff = page.get_by_test_id("diff")
    expect(diff.locator("ins")).to_contain_text("Check renal function before the first dose.")
    expect(editor).to_be_visible()
    editor_box, diff_box = editor.bounding_box(), diff.bounding_box()
    # Same vertical band, the diff to the right of the editor, both in the window.
    assert diff_box["x"] >= editor_box["x"] + editor_box["width"]
    assert diff_box["y"] < editor_box["y"] + editor_box["height"]
    assert editor_box["y"] < diff_box["y"] + diff_box["height"]
    assert in_view(page, editor) and in_view(page, diff)


def test_g_opens_the_guidelines_beside_the_item_and_keeps_the_work_in_progress(demo_queue, laptop):
    page = laptop("physician")
    keys = page.keyboard
    toggle = page.get_by_role("link", name="Reviewer guidelines")
    panel = page.get_by_role("complementary", name=GUIDELINES_TITLE)
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(panel).to_be_hidden()

    editor = edit_and_type(page, " Not in pregnancy.")
    keys.type(" g")  # typing in the editor: G is a letter there
    expect(panel).to_be_hidden()
    keys.press("Escape")  # out of the editor; what was typed stays in it
    expect(page.get_by_test_id("item")).to_be_focused()

    keys.press("g")
    expect(panel).to_be_visible()
    expect(panel).to_be_focused()
    expect(panel.get_by_test_id("guidelines")).to_contain_text("Accept when the response is accurate")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    assert page.url.endswith("/review/")
    for shown in (page.get_by_test_id("instruction"), page.get_by_test_id("response"), panel):
        assert in_view(page, shown), shown

    keys.press("g")
    expect(panel).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_test_id("item")).to_be_focused()
    keys.press("g")
    expect(panel).to_be_visible()
    keys.press("Escape")
    expect(panel).to_be_hidden()

    keys.press("e")
    expect(editor).to_be_focused()
    expect(editor).to_have_value(re.compile(r"Not in pregnancy\. g$"))
    assert page.url.endswith("/review/")


def test_a_backtranslation_item_shows_its_source_document(live_server, laptop):
    call_command("seed_demo")
    call_command("generate", technique="backtranslation", count=3, sample=1.0)
    page = laptop("physician")
    item = shown_item(page)
    assert item.candidate.technique == "backtranslation"
    document = SourceDocument.objects.get(pk=item.candidate.provenance["document"]["id"])

    source = page.get_by_test_id("source-document")
    expect(source).to_contain_text(f"Source document: {document.title}")
    summary(page, "Source document").focus()
    page.keyboard.press("Enter")
    text = source.get_by_role("region", name="Text of the source document")
    expect(text).to_be_visible()
    expect(text).to_contain_text(document.text.split("\n")[0].strip()[:80])
    assert serious_violations(page) == []


def test_axe_finds_no_serious_violation_with_the_guidelines_or_the_editor_open(demo_queue, laptop):
    page = laptop("physician")
    page.keyboard.press("g")
    expect(page.get_by_test_id("guidelines-panel")).to_be_visible()
    assert serious_violations(page) == []
    page.keyboard.press("g")
    expect(page.get_by_test_id("guidelines-panel")).to_be_hidden()
    edit_and_type(page, " Reviewed.")
    expect(page.get_by_test_id("diff")).to_be_visible()
    assert serious_violations(page) == []
