"""Login throttling: repeated failures lock the username on that address for a set cool-off."""

from datetime import timedelta

from axes.models import AccessAttempt
from django.urls import reverse

from tests.conftest import PASSWORD


def fail_to_log_in(client, username, times):
    for _ in range(times):
        r = client.post(reverse("login"), {"username": username, "password": "wrong-guess"})
    return r


def test_it_locks_a_username_out_after_five_failures_with_a_clear_message(client, physician, settings):
    assert fail_to_log_in(client, "physician", 4).status_code == 200  # still the login form
    r = fail_to_log_in(client, "physician", 1)
    assert r.status_code == 429
    assert "locked" in r.text and "after 5 failed attempts" in r.text and "15 minutes" in r.text
    # Even the right password is refused during the cool-off.
    r = client.post(reverse("login"), {"username": "physician", "password": PASSWORD})
    assert r.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lock_lifts_after_the_cool_off(client, physician):
    fail_to_log_in(client, "physician", 5)
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    r = client.post(reverse("login"), {"username": "physician", "password": PASSWORD})
    assert r.status_code == 302
    assert client.session["_auth_user_id"] == str(physician.pk)


def test_another_username_is_not_locked_out(client, physician, physician2):
    fail_to_log_in(client, "physician", 5)
    r = client.post(reverse("login"), {"username": "physician2", "password": PASSWORD})
    assert r.status_code == 302


def test_a_success_resets_the_count(client, physician):
    fail_to_log_in(client, "physician", 4)
    client.post(reverse("login"), {"username": "physician", "password": PASSWORD})
    client.post(reverse("logout"))
    assert fail_to_log_in(client, "physician", 4).status_code == 200
