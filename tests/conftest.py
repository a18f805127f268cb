"""The cast of users, the demo's configuration, and settings every test shares."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from core import roles
from synth.demo_data import load_demo_data
from synth.models import Teacher

ROOT = Path(__file__).resolve().parent.parent

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections(django_db_setup, django_db_blocker):
    """Let the test database be dropped at the end of the session.

    Django keeps connections in context-local storage, and Playwright's event loop runs tests in more
    than one context, so a connection opened in one is not closed from another: end them here.
    """
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock():
        connection.close()  # its connection may have died with a server a test restarted (test_durability)
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    # Background tasks run inline unless a test starts a real worker (tests/test_worker.py).
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed, tests only
    settings.EXPORT_ROOT = tmp_path / "exports"
    # The loopback servers that stand in for OpenAI and Anthropic listen on 127.0.0.1, on any port.
    settings.TEACHER_LOCAL_HOSTS = ["127.0.0.1"]
    # A teacher that fails gives up after its attempts, unless a test is about waiting out an outage.
    settings.TEACHER_OUTAGE_PATIENCE_SECONDS = 0


def make_user(username: str, role: str | None, **extra):
    roles.ensure_roles()
    user = get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def administrator(db):
    return make_user("admin", roles.ADMINISTRATOR, is_staff=True)


@pytest.fixture
def physician(db):
    return make_user("physician", roles.PHYSICIAN)


@pytest.fixture
def physician2(db):
    return make_user("physician2", roles.PHYSICIAN)


@pytest.fixture
def senior(db):
    return make_user("senior", roles.SENIOR_PHYSICIAN)


@pytest.fixture
def data_lead(db):
    return make_user("datalead", roles.DATA_LEAD)


@pytest.fixture
def demo_config(db) -> Teacher:
    """Domains, seed tasks and the offline teacher, as `seed_demo` loads them (without its accounts)."""
    load_demo_data(with_users=False)
    return Teacher.objects.get(name="offline")


@pytest.fixture
def client_for(client):
    """A test client logged in as the given user."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def review_items(demo_config, django_capture_on_commit_callbacks):
    """Six items in the review queue, from an offline Self-Instruct run sampled in full."""
    from review.models import ReviewItem
    from synth.generation import launch_run
    from synth.models import Domain

    with django_capture_on_commit_callbacks(execute=True):
        launch_run(
            teacher=demo_config,
            technique="self_instruct",
            requested_count=6,
            sample_rate=1.0,
            domains=[Domain.objects.get(slug="infectious-disease")],
        )
    items = list(ReviewItem.objects.order_by("pk"))
    assert len(items) >= 3, "the offline run should leave at least three items to review"
    return items


def database_url_for_subprocess() -> str:
    """The URL of the database this test uses, for a process the test starts."""
    from urllib.parse import quote

    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{quote(db['HOST'], safe='')}:{db['PORT']}/{db['NAME']}"


def start_db_worker(
    settings, *, capture: bool = False, log: Path | None = None, **env: str
) -> subprocess.Popen:
    """A real task worker process (`manage.py worker`, django-tasks-db's loop as production runs it) on
    the test database, with the test's extra environment; its output to a pipe, a file, or nowhere."""
    output = log.open("w") if log else subprocess.PIPE if capture else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            [sys.executable, "manage.py", "worker", "--no-reload", "--no-startup-delay", "--interval", "0.2"],
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": database_url_for_subprocess(),
                "EXPORT_ROOT": str(settings.EXPORT_ROOT),
                "DEBUG": "0",
                **env,
            },
            stdout=output,
            stderr=subprocess.STDOUT if capture or log else subprocess.DEVNULL,
            text=True,
        )
    finally:
        if log:
            output.close()  # the child holds its own copy


def wait_for(condition, timeout: float = 120.0, interval: float = 0.1) -> None:
    """Poll until `condition()` holds (a worker in another process is doing the work)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError("timed out waiting for the worker")


def teacher_form(**changes) -> dict:
    """The teacher admin form's fields, valid as they are; a test changes the ones it is about."""
    data = {
        "name": "vllm",
        "provider": "openai",
        "model": "llama-3.1-70b",
        "base_url": "",
        "api_key_env": "OPENAI_API_KEY",
        "temperature": "0.7",
        "max_tokens": "1024",
        "concurrency": "4",
        "timeout_seconds": "45",
        "price_input_per_mtok": "0",
        "price_output_per_mtok": "0",
    }
    return data | changes


@pytest.fixture
def task_worker(transactional_db, settings):
    """A real `manage.py db_worker` process on the test database; tasks go through the database queue."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    process = start_db_worker(settings, capture=True)
    yield process
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def production_env(**overrides: str) -> dict[str, str]:
    """The environment of a process started as in production (PRODUCTION=1) from a test."""
    import os
    import secrets

    # DEBUG may be set by a developer; DJANGO_ALLOW_ASYNC_UNSAFE is set for Playwright in this process,
    # and `check --deploy` rightly refuses it in a production process.
    inherited = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    return {**inherited, "PRODUCTION": "1", "SECRET_KEY": secrets.token_urlsafe(50), **overrides}


@pytest.fixture(autouse=True)
def _fresh_near_duplicate_index():
    """Each test's database starts empty: so must the near-duplicate index built from it."""
    from synth.quality.corpus import reset_indexes

    reset_indexes()
    yield
    reset_indexes()
