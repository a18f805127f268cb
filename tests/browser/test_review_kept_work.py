"""What the browser keeps of a reviewer's work (issue 12 point 5): nothing after logging out, and
nothing another user of the same browser can see or read. The same reviewer getting their edit back
after an expired session is tests/browser/test_review_resilience.py."""

import json
import re

import pytest
from django.contrib.sessions.models import Session
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

SECRET = "Patient's dose halved, the ward's own wording"

STORAGE = "() => Object.fromEntries(Object.keys(localStorage).map(k => [k, localStorage.getItem(k)]))"
KEPT_SOMETHING = "() => Object.keys(localStorage).some(k => k.startsWith('review-work:'))"


def kept(page) -> dict[str, str]:
    return {k: v for k, v in page.evaluate(STORAGE).items() if k.startswith("review-work:")}


def start_edit(page, text: str) -> None:
    page.keyboard.press("e")
    expect(page.locator("#edit-output")).to_be_focused()
    page.keyboard.press("Control+a")
    page.keyboard.type(text)


def test_logging_out_leaves_no_kept_work(demo_login, demo_queue):
    page = demo_login("physician")
    start_edit(page, SECRET)
    page.wait_for_function(KEPT_SOMETHING)
    stored = kept(page)
    assert stored and SECRET not in json.dumps(stored)  # kept, encrypted
    assert not any("physician" in key for key in stored)  # filed under an opaque scope

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/accounts/login/$"))
    assert kept(page) == {}


def test_another_user_of_the_browser_neither_sees_nor_can_read_kept_work(demo_login, demo_queue):
    page = demo_login("physician")
    start_edit(page, SECRET)
    expect(page.get_by_test_id("draft-saved")).to_be_visible()
    Session.objects.all().delete()  # the session expires mid-edit; the physician walks away
    page.keyboard.type(", and the rest")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/review/$"))

    left_behind = kept(page)
    assert left_behind, "the expired session's edit is kept for its reviewer"
    assert "the rest" not in json.dumps(left_behind) and SECRET not in json.dumps(left_behind)

    # The next physician at the same computer logs in.
    sign_in(page, "physician2")
    page.wait_for_url(re.compile(r"/review/$"))
    expect(page.get_by_test_id("item-meta")).to_be_visible()
    expect(page.get_by_test_id("local-restored")).to_be_hidden()
    assert not set(kept(page)) & set(left_behind), "the other user's kept work is dropped at login"
    assert SECRET not in page.locator("#edit-output").input_value()

    # Even filed under this user's own name for their item, the first user's work does not open.
    scope = page.locator("body").get_attribute("data-kept-work-scope")
    work_key = page.locator("#item").get_attribute("data-work-key")
    stolen = next(iter(left_behind.values()))
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [f"review-work:{scope}:{work_key}", stolen])
    page.reload()
    expect(page.get_by_test_id("item-meta")).to_be_visible()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_test_id("local-restored")).to_be_hidden()
    assert SECRET not in page.locator("#edit-output").input_value()
