"""Browser tests: Debian's Chromium driven by Playwright against a live server and a real worker."""

import os
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.conftest import PASSWORD

# Playwright's sync API runs an event loop in this thread; Django's ORM calls here are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")


def pytest_collection_modifyitems(config, items):
    if any("tests/browser" in str(item.path) for item in items) and not CHROMIUM.exists():
        raise pytest.UsageError(
            f"Browser tests need Debian's Chromium at {CHROMIUM}: apt-get install chromium chromium-driver"
        )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def login(live_server, browser):
    """A new browser context logged in as the given user, returning its page."""

    contexts = []

    def login_as(user):
        context = browser.new_context(accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        return page

    yield login_as
    for context in contexts:  # before the live server stops, so no request is left half-served
        context.close()


@pytest.fixture
def demo_queue(live_server):
    """The demo's data and accounts (`seed_demo`), and an offline Self-Instruct run (`generate`) sent
    to review in full."""
    from review.models import ReviewItem

    call_command("seed_demo")
    call_command("generate", technique="self_instruct", count=6, sample=1.0, domain=["infectious-disease"])
    items = list(ReviewItem.objects.order_by("pk"))
    assert len(items) >= 3, "the offline run should leave at least three items to review"
    return items


def sign_in(page, username: str) -> None:
    """Log in on the page's login form with a demo account's password (`seed_demo`)."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(f"{username}-demo-pass")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


@pytest.fixture
def demo_login(live_server, browser):
    """A new browser context logged in as a demo account, in a short window (the comment box of the
    review page starts below the fold, as on a ward's laptop), returning its page."""
    contexts = []

    def login_as(username: str, viewport: dict | None = None):
        context = browser.new_context(viewport=viewport or {"width": 1000, "height": 420})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{live_server.url}/accounts/login/")
        sign_in(page, username)
        page.wait_for_url(re.compile(r"/review/$"))
        return page

    yield login_as
    for context in contexts:
        context.close()


# Registered before any page script runs (through the DevTools protocol, which the CSP does not govern).
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture
def data_lead_page(live_server, browser):
    """The demo's data lead (`seed_demo`) signed in, with console errors and CSP violations recorded."""
    contexts = []

    def open_page():
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.errors = []
        page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.add_init_script(WATCH_CSP)
        page.goto(f"{live_server.url}/accounts/login/")
        sign_in(page, "datalead")
        return page

    yield open_page
    for context in contexts:
        context.close()


def assert_clean(page) -> None:
    assert page.evaluate("window.__cspViolations") == []
    assert page.errors == []
