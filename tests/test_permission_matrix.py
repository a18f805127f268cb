"""Every URL by every role, generated from the URL configuration: a new URL without a role check fails here.

Each view of ours declares its permission through `role_required`; the few that do not are listed
below with the rule they follow instead. Anonymous users must land on the login page, signed-in users
without the permission must get 403, and users with it must get past the check, for GET and POST.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.admindocs.views import extract_views_from_urlpatterns, simplify_regex
from django.test import Client
from django.urls import get_resolver, reverse

from core import roles
from tests.conftest import make_user

# Views with no permission of their own, and why.
PUBLIC = {"login", "logout"}  # the way in and out
ANY_SIGNED_IN = {"home"}  # sends each role to its work; a user with no role gets a 403 page

ROLES = ["anonymous", roles.PHYSICIAN, roles.SENIOR_PHYSICIAN, roles.DATA_LEAD, roles.ADMINISTRATOR]


def _concrete(route: str) -> str:
    """A URL for a route: ids become 1 (a missing object is a 404, after the role check)."""
    route = re.sub(r"<int:\w+>", "1", route)
    route = re.sub(r"<app_label>", "synth", route)
    return re.sub(r"<(?:\w+:)?\w+>", "x", route)


def _our_urls():
    for view, route, namespace, name in extract_views_from_urlpatterns(get_resolver().url_patterns):
        if namespace and "admin" in namespace:
            continue  # Django's admin checks staff and model permissions itself (tested below)
        yield pytest.param(view, _concrete(simplify_regex(route)), name, id=name or route)


def _admin_urls():
    for _view, route, namespace, name in extract_views_from_urlpatterns(get_resolver().url_patterns):
        url = _concrete(simplify_regex(route))
        if namespace and "admin" in namespace and name not in {"login", "logout", "jsi18n", None}:
            yield pytest.param(url, id=name)


@pytest.fixture
def users(db):
    staff = {roles.ADMINISTRATOR: {"is_staff": True}}
    return {role: make_user(f"user-{i}", role, **staff.get(role, {})) for i, role in enumerate(ROLES[1:])}


def _goes_to_login(response, login="/accounts/login/") -> bool:
    return response.status_code == 302 and response["Location"].startswith(login)


@pytest.mark.parametrize(("view", "url", "name"), list(_our_urls()))
def test_every_url_checks_the_role(view, url, name, client, users):
    if name in PUBLIC:
        return
    permission = getattr(view, "required_permission", None)
    assert permission or name in ANY_SIGNED_IN, (
        f"The view behind {url} ({name}) declares no role: decorate it with core.roles.role_required."
    )
    for method in ("get", "post"):
        client.logout()
        anonymous = getattr(client, method)(url)
        assert _goes_to_login(anonymous) or anonymous.status_code == 405, (method, url, "anonymous")
        for role, user in users.items():
            client.force_login(user)
            response = getattr(client, method)(url)
            allowed = permission is None or permission in roles.ROLE_PERMISSIONS[role]
            if allowed:
                assert response.status_code != 403 and not _goes_to_login(response), (method, url, role)
            else:
                assert response.status_code in {403, 405}, (method, url, role, response.status_code)


@pytest.mark.parametrize("url", list(_admin_urls()))
def test_the_admin_admits_staff_only(url, client, users):
    for role, user in [("anonymous", None), *users.items()]:
        client.logout()
        if user is not None:
            client.force_login(user)
        response = client.get(url)
        if role == roles.ADMINISTRATOR:
            assert not _goes_to_login(response, "/admin/login/"), (url, role)
        else:
            assert _goes_to_login(response, "/admin/login/") or response.status_code == 404, (url, role)


def test_there_is_no_sign_up(client):
    for url in ("/accounts/signup/", "/accounts/register/", "/signup/"):
        assert client.get(url).status_code == 404


def test_an_administrator_cannot_raise_their_own_rights(client, users):
    """Only a superuser manages accounts: a staff administrator cannot touch users or groups."""
    administrator = users[roles.ADMINISTRATOR]
    client.force_login(administrator)
    change = f"/admin/auth/user/{administrator.pk}/change/"
    assert client.get(change).status_code == 403
    r = client.post(change, {"username": administrator.username, "is_superuser": "on", "is_staff": "on"})
    assert r.status_code == 403
    assert client.get("/admin/auth/group/").status_code == 403
    administrator.refresh_from_db()
    assert not administrator.is_superuser and administrator.groups.count() == 1


@pytest.mark.parametrize(("view", "url", "name"), list(_our_urls()))
def test_every_state_changing_request_needs_the_csrf_token(view, url, name, users):
    """Without the token a POST is refused; with it in the header, as htmx sends it, it gets through."""
    permission = getattr(view, "required_permission", None)
    role = next((r for r in ROLES[1:] if permission in roles.ROLE_PERMISSIONS[r]), roles.PHYSICIAN)
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("login"))  # the login page sets the CSRF cookie
    if name not in PUBLIC:
        client.force_login(users[role])
    assert client.post(url).status_code == 403, (url, "without a token")
    token = client.cookies["csrftoken"].value
    assert client.post(url, headers={"X-CSRFToken": token}).status_code != 403, (url, "with the token")
