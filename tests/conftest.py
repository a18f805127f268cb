"""The cast of users, the demo's configuration, and settings every test shares."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from synth import roles
from synth.demo_data import load_demo_data
from synth.models import Teacher

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    # Background tasks run inline unless a test starts a real worker (tests/test_worker.py).
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed, tests only
    settings.EXPORT_ROOT = tmp_path / "exports"


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
