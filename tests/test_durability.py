"""A decision the server acknowledged survives the database going down hard right after.

On PostgreSQL the server is killed with SIGKILL and restarted (it replays its write-ahead log); on
SQLite, where the database lives in the web server's process, that process is killed instead. Either
way the acknowledged decision is there afterwards, a retried submit adds nothing, and the database
itself refuses a second standing decision for the same assignment.
"""

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import IntegrityError, connection, transaction

from review.models import Assignment, Decision
from tests.conftest import PASSWORD, database_url_for_subprocess, production_env

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_web_server(port: int) -> subprocess.Popen:
    env = production_env(
        PRODUCTION="0", DEBUG="0", ALLOWED_HOSTS="127.0.0.1", DATABASE_URL=database_url_for_subprocess()
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: master and workers die together
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                kill_web_server(process, port)
                raise AssertionError("the web server did not start") from None
            time.sleep(0.2)


class Browser:
    """Just enough of a browser: cookies, the CSRF header htmx sends, form posts."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.read().decode()

    def post(self, path: str, data: dict, token: str) -> int:
        request = urllib.request.Request(
            self.base + path,
            data=urllib.parse.urlencode(data).encode(),
            headers={"X-CSRFToken": token, "HX-Request": "true", "Referer": self.base + "/"},
        )
        with self.opener.open(request, timeout=30) as response:
            return response.status


def kill_web_server(process: subprocess.Popen, port: int) -> None:
    """SIGKILL to the master and its workers, then wait until nothing listens on the port any more."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return
        time.sleep(0.05)


def crash_the_database(postgres_server, web_server: subprocess.Popen, port: int) -> None:
    kill_web_server(web_server, port)
    if postgres_server is not None:
        postgres_server.crash()
        postgres_server.restart()
        # As at the end of a request; the pool then replaces the connections that died with the server.
        connection.close()


def test_an_acknowledged_decision_survives_a_database_crash(
    transactional_db, review_items, physician, postgres_server
):
    hasher = PBKDF2PasswordHasher()  # the web server process knows only the real hashers
    physician.password = hasher.encode(PASSWORD, hasher.salt())
    physician.save(update_fields=["password"])
    port = free_port()
    web_server = start_web_server(port)
    try:
        browser = Browser(f"http://127.0.0.1:{port}")
        login_page = browser.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
        browser.post("/accounts/login/", {"username": "physician", "password": PASSWORD}, token)
        page = browser.get("/review/")
        token = re.search(r'"x-csrftoken": "([^"]+)"', page).group(1)
        assignment = Assignment.objects.get(reviewer=physician, status="active")
        decide = f"/review/assignments/{assignment.pk}/decide/"
        assert browser.post(decide, {"verdict": "reject", "reasons": "unsafe"}, token) == 200  # acknowledged
    finally:
        crash_the_database(postgres_server, web_server, port)

    decision = Decision.objects.get(assignment=assignment)
    assert (decision.reviewer, decision.verdict, decision.reasons) == (physician, "reject", ["unsafe"])

    # The reviewer's browser never saw the answer and sends it again: still one decision.
    web_server = start_web_server(port)
    try:
        browser.post(decide, {"verdict": "reject", "reasons": "unsafe"}, token)
    finally:
        kill_web_server(web_server, port)
    assert Decision.objects.filter(assignment=assignment).count() == 1

    # Not only the application: the database refuses a second standing decision for the assignment.
    with pytest.raises(IntegrityError), transaction.atomic():
        Decision.objects.create(
            assignment=assignment, item=assignment.item, reviewer=physician, verdict="accept"
        )
