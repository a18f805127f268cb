"""The role groups: `ensure_roles` gives each its permissions, repairs what is missing, and costs one
query when nothing is (it runs before every demo load and every test user)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from core import roles


def _granted() -> dict[str, set[str]]:
    return {
        group.name: {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        for group in Group.objects.prefetch_related("permissions__content_type")
    }


@pytest.mark.django_db
def test_every_role_gets_its_permissions_back_when_one_was_removed_or_a_group_deleted(
    django_assert_num_queries,
):
    roles.ensure_roles()
    Group.objects.get(name=roles.PHYSICIAN).permissions.clear()
    Group.objects.get(name=roles.DATA_LEAD).delete()
    senior = Group.objects.get(name=roles.SENIOR_PHYSICIAN)
    senior.permissions.remove(senior.permissions.get(codename="adjudicate_item"))

    roles.ensure_roles()

    granted = _granted()
    for role, permissions in roles.ROLE_PERMISSIONS.items():
        assert granted[role] == set(permissions), role
    with django_assert_num_queries(1):
        roles.ensure_roles()  # complete: one query, nothing written
