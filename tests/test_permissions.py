"""The authentication backend reads a user's own and their groups' permissions in one query."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import roles
from tests.conftest import make_user


def _fresh(user):
    return get_user_model().objects.get(pk=user.pk)  # as the next request loads it: nothing cached


def test_it_counts_permissions_from_groups(db):
    user = make_user("p", roles.PHYSICIAN)
    assert _fresh(user).has_perm("review.review_item")
    assert not _fresh(user).has_perm("review.adjudicate_item")


def test_it_counts_permissions_given_to_the_user(db):
    user = make_user("p", None)
    user.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    assert _fresh(user).has_perm("review.view_dashboard")
    assert not _fresh(user).has_perm("review.review_item")


def test_it_counts_both_in_one_query(db):
    user = make_user("p", roles.PHYSICIAN)
    user.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    user = _fresh(user)
    with CaptureQueriesContext(connection) as captured:
        assert user.get_all_permissions() == {"review.review_item", "review.view_dashboard"}
        assert user.has_perm("review.review_item") and user.has_perm("review.view_dashboard")
    assert len(captured) == 1


def test_a_superuser_has_every_permission(db):
    user = make_user("root", None, is_superuser=True)
    assert _fresh(user).has_perm("review.adjudicate_item")


def test_an_inactive_user_has_none(db):
    user = make_user("p", roles.PHYSICIAN, is_active=False)
    assert not _fresh(user).has_perm("review.review_item")


def test_a_role_change_counts_from_the_next_request(client, db):
    user = make_user("p", roles.PHYSICIAN)
    client.force_login(user)
    assert client.get("/review/").status_code == 200
    user.groups.remove(Group.objects.get(name=roles.PHYSICIAN))
    assert client.get("/review/").status_code == 403


def test_a_user_without_the_role_gets_403(client, db):
    client.force_login(make_user("lead", roles.DATA_LEAD))
    assert client.get("/review/").status_code == 403
