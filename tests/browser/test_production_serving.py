"""The production profile as it runs for real: `manage.py serve` (gunicorn over TLS, whitenoise, a task
worker) with PRODUCTION=1, driven through a reviewer's and a data lead's session in Chromium."""

import re
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import trustme
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from playwright.sync_api import expect

from review.models import Decision
from tests.conftest import PASSWORD, database_url_for_subprocess, production_env

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def production_server(transactional_db, tmp_path, settings):
    """`manage.py serve` on the test database, serving HTTPS with a certificate from a throwaway CA."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_and_cert_chain_pem.write_to_path(tmp_path / "server.pem")
    ca.cert_pem.write_to_path(tmp_path / "ca.pem")
    port = free_port()
    env = production_env(
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database_url_for_subprocess(),
        STATIC_ROOT=str(tmp_path / "static"),
        EXPORT_ROOT=str(settings.EXPORT_ROOT),
    )
    pem = str(tmp_path / "server.pem")
    tls = ["--certfile", pem, "--keyfile", pem]
    sizes = ["--web-workers", "1", "--threads", "4", "--task-workers", "1"]
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--bind", f"127.0.0.1:{port}", *sizes, *tls],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"https://127.0.0.1:{port}"
    trusted = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early:\n{process.stdout.read()}")
        try:
            urllib.request.urlopen(f"{url}/accounts/login/", context=trusted, timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline:
                process.terminate()
                raise AssertionError(f"serve did not answer in time:\n{process.stdout.read()}") from None
            time.sleep(0.3)
    yield url
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def log_in(browser, url, user):
    # The certificate comes from a throwaway CA the browser does not know; the server side is real TLS.
    context = browser.new_context(ignore_https_errors=True, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda u: "/accounts/login/" not in u)
    return context, page


def with_production_password_hash(*users):
    """The suite hashes with MD5 for speed; the production server only knows its real hashers."""
    hasher = PBKDF2PasswordHasher()
    for user in users:
        user.password = hasher.encode(PASSWORD, hasher.salt())
        user.save(update_fields=["password"])


def test_a_reviewer_and_a_data_lead_work_through_the_production_server(
    production_server, review_items, browser, physician, data_lead
):
    with_production_password_hash(physician, data_lead)
    context, page = log_in(browser, production_server, physician)
    response = page.goto(f"{production_server}/review/")
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert all(cookie["secure"] for cookie in context.cookies())

    # Static files come from whitenoise under hashed, cacheable names; htmx works under the CSP.
    script = page.locator("script[src*='htmx']").get_attribute("src")
    assert re.search(r"\.[0-9a-f]{12}\.js$", script), script
    static = page.request.get(f"{production_server}{script}")
    assert static.status == 200 and "immutable" in static.headers["cache-control"]

    first = page.get_by_test_id("item-meta").inner_text()
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_test_id("reviewed-today")).to_have_text("1")
    assert page.get_by_test_id("item-meta").inner_text() != first
    assert page.evaluate("window.stillTheSamePage") is True
    assert Decision.objects.filter(reviewer=physician, verdict="accept").count() == 1
    context.close()

    # The export is built by the task worker that `serve` started.
    context, lead = log_in(browser, production_server, data_lead)
    lead.get_by_role("button", name="Create export").click()
    download_link = lead.get_by_role("link", name="train.jsonl")
    expect(download_link).to_be_visible(timeout=60_000)
    with lead.expect_download() as download_info:
        download_link.click()
    assert len(Path(download_info.value.path()).read_text().splitlines()) == 1
    context.close()
