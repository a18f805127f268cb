"""Site-wide promises: login and logout, the security headers, and keys that never show."""

import re

from django.urls import reverse

from synth.models import Teacher
from tests.conftest import teacher_form


def test_logging_out_takes_a_post_and_returns_to_login(client_for, physician):
    client = client_for(physician)
    r = client.post(reverse("logout"))
    assert r.status_code == 302 and r.url == reverse("login")
    assert client.get(reverse("review:review")).status_code == 302


def test_the_login_page_reports_a_wrong_password(client, physician):
    r = client.post(reverse("login"), {"username": "physician", "password": "wrong"})
    assert r.status_code == 200
    assert "didn't match" in r.text


def test_pages_are_served_under_a_content_security_policy(client_for, physician):
    r = client_for(physician).get(reverse("review:review"))
    policy = r.headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy
    assert "object-src 'none'" in policy
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_htmx_is_served_from_our_own_static_files_with_the_nonce(client_for, physician):
    r = client_for(physician).get(reverse("review:review"))
    nonce = r.headers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in r.text
    assert "/static/django-htmx/" in r.text or "/static/django_htmx/" in r.text
    # every script from our own static files (not "cdn" anywhere in the page: a CSRF token may hold it)
    sources = re.findall(r'<script[^>]*\ssrc="([^"]*)"', r.text)
    assert sources and all(src.startswith("/static/") for src in sources), sources


def test_an_api_key_never_appears_in_the_teacher_admin(client_for, administrator, settings, db):
    settings.TEACHER_API_KEYS = {"OPENAI_API_KEY": "sk-live-secret-value-123456"}
    teacher = Teacher.objects.create(
        name="gpt", provider="openai", model="gpt-4.1", api_key_env="OPENAI_API_KEY"
    )
    client = client_for(administrator)
    for url in ("/admin/synth/teacher/", f"/admin/synth/teacher/{teacher.pk}/change/"):
        r = client.get(url)
        assert r.status_code == 200
        assert "OPENAI_API_KEY" in r.text
        assert "sk-live-secret-value-123456" not in r.text


def test_the_teacher_admin_explains_a_bad_key_variable_name(client_for, administrator, db):
    r = client_for(administrator).post(
        "/admin/synth/teacher/add/",
        teacher_form(name="gpt", model="gpt-4.1", api_key_env="sk-pasted-the-key-itself"),
    )
    assert r.status_code == 200
    assert "ending in _API_KEY" in r.text
    assert not Teacher.objects.filter(name="gpt").exists()


def test_a_signed_out_htmx_request_sends_the_whole_page_to_login_and_back(client, db):
    r = client.post(
        reverse("review:draft", args=[1]),
        {"output": "typed"},
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/review/?focus=1"},
    )
    assert r.status_code == 200
    assert r["HX-Redirect"] == reverse("login") + "?next=/review/%3Ffocus%3D1"
