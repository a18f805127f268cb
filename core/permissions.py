"""The authentication backend: Django's ModelBackend, reading a user's permissions in one query."""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

# The user's own and their groups' permissions, as (app label, codename), in one statement: written
# out because every request's role check runs it, and the ORM's UNION cost more to build than to run
# (about 0.5 ms of Python a request).
_PERMISSIONS = """
SELECT ct.app_label, p.codename
FROM {permission} p JOIN {content_type} ct ON ct.id = p.content_type_id
WHERE p.id IN (
    SELECT {own_permission} FROM {own} WHERE {own_user} = %(user)s
    UNION
    SELECT g.{granted_permission} FROM {granted} g JOIN {groups} ug ON ug.{groups_group} = g.{granted_group}
    WHERE ug.{groups_user} = %(user)s
)"""


@cache
def _permissions_sql() -> str:
    """_PERMISSIONS with the models' table and column names in (only those are formatted in; the user
    is bound as a parameter)."""
    user = get_user_model()
    own = user._meta.get_field("user_permissions").remote_field.through._meta
    groups = user._meta.get_field("groups").remote_field.through._meta
    granted = Group._meta.get_field("permissions").remote_field.through._meta
    return _PERMISSIONS.format(
        permission=Permission._meta.db_table,
        content_type=ContentType._meta.db_table,
        own=own.db_table,
        own_permission=own.get_field("permission").column,
        own_user=own.get_field("user").column,
        granted=granted.db_table,
        granted_permission=granted.get_field("permission").column,
        granted_group=granted.get_field("group").column,
        groups=groups.db_table,
        groups_group=groups.get_field("group").column,
        groups_user=groups.get_field("user").column,
    )


class OneQueryModelBackend(ModelBackend):
    """ModelBackend, with the role check of every request reading the user's own and their groups'
    permissions in one query instead of two. Cached on the user object for the request, as
    ModelBackend does (`_perm_cache`), so a role change counts from the user's next request."""

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)  # every permission there is
        if not hasattr(user_obj, "_perm_cache"):
            with connection.cursor() as cursor:
                cursor.execute(_permissions_sql(), {"user": user_obj.pk})
                rows = cursor.fetchall()
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in rows}
        return user_obj._perm_cache
