"""A physician's edit survives what goes wrong mid-review: the session expiring, the browser going
offline, a decision the server stored but whose answer never arrived. Each ends with one decision."""

import re

import pytest
from django.contrib.sessions.models import Session
from playwright.sync_api import expect

from review.models import Decision
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def item_id(page) -> int:
    return int(re.search(r"Item #(\d+)", page.get_by_test_id("item-meta").inner_text()).group(1))


def start_edit(page, text: str) -> int:
    """Open the edit panel of the item in front of the physician and type `text` over the response."""
    item = item_id(page)
    page.keyboard.press("e")
    expect(page.locator("#edit-output")).to_be_focused()
    page.keyboard.press("Control+a")
    page.keyboard.type(text)
    return item


def test_an_edit_survives_the_session_expiring_and_is_submitted_once_after_logging_in_again(
    live_server, login, physician, review_items
):
    page = login(physician)
    item = start_edit(page, "First part of the correction")
    expect(page.get_by_test_id("draft-saved")).to_be_visible()  # the server has this much

    Session.objects.all().delete()  # the session expires on the server
    # These last keys never reach the server's draft: the submit comes before the autosave's pause.
    page.keyboard.type(", and the rest")
    page.keyboard.press("Control+Enter")

    page.wait_for_url(re.compile(r"/accounts/login/\?next=/review/$"))
    assert not Decision.objects.filter(item_id=item).exists()
    page.get_by_label("Username").fill(physician.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.wait_for_url(re.compile(r"/review/$"))
    assert item_id(page) == item
    expect(page.get_by_test_id("local-restored")).to_be_visible()
    expect(page.locator("#edit-output")).to_have_value("First part of the correction, and the rest")
    page.locator("#edit-output").focus()
    page.keyboard.press("Control+Enter")
    expect(page.get_by_test_id("item-meta")).not_to_contain_text(f"Item #{item} ")

    decisions = list(Decision.history.filter(item_id=item))
    assert len(decisions) == 1
    assert decisions[0].verdict == "edit"
    assert decisions[0].revision.output == "First part of the correction, and the rest"
    # Decided: the next time this item's assignment comes up, nothing stale is put back.
    page.reload()
    expect(page.get_by_test_id("local-restored")).to_be_hidden()


def test_an_edit_submitted_offline_is_sent_once_when_the_browser_is_back_online(
    live_server, login, physician, review_items
):
    # The issue speaks of a minute offline; a few seconds take the same path (the failed send, the
    # kept work, the retry on the `online` event), so the test does not wait a real minute.
    page = login(physician)
    item = start_edit(page, "Corrected while the network was down")
    page.context.set_offline(True)
    page.keyboard.press("Control+Enter")
    expect(page.get_by_test_id("connection-status")).to_contain_text("You are offline")
    page.keyboard.press("Control+Enter")  # impatient: a second try while still offline
    expect(page.locator("#edit-output")).to_have_value("Corrected while the network was down")
    assert not Decision.objects.filter(item_id=item).exists()

    page.context.set_offline(False)
    expect(page.get_by_test_id("item-meta")).not_to_contain_text(f"Item #{item} ")
    expect(page.get_by_test_id("connection-status")).to_be_hidden()

    decisions = list(Decision.history.filter(item_id=item))
    assert len(decisions) == 1
    assert decisions[0].revision.output == "Corrected while the network was down"


def test_a_decision_stored_whose_answer_was_lost_is_sent_again_and_stored_once(
    live_server, login, physician, review_items
):
    page = login(physician)
    item = start_edit(page, "Stored, but the answer never came back")
    lost = []

    def store_then_drop_the_answer(route):
        # The request reaches the server and is stored; the browser sees the connection fail.
        lost.append(route.fetch().status)
        route.abort("connectionreset")

    page.route(re.compile(r"/review/assignments/\d+/decide/$"), store_then_drop_the_answer, times=1)
    page.keyboard.press("Control+Enter")
    expect(page.get_by_test_id("connection-status")).to_contain_text("will be sent again")
    assert lost == [200]
    assert Decision.objects.filter(item_id=item).count() == 1

    # The browser never went offline, so no `online` event: the retry timer sends it again, and the
    # server answers the repeat with the same decision.
    expect(page.get_by_test_id("item-meta")).not_to_contain_text(f"Item #{item} ", timeout=20_000)
    decisions = list(Decision.history.filter(item_id=item))
    assert len(decisions) == 1
    assert decisions[0].revision.output == "Stored, but the answer never came back"
