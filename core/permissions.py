"""The authentication backend: Django's ModelBackend, reading a user's permissions with the user."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import F, JSONField, OuterRef, Subquery
from django.db.models.functions import JSONObject

from core.json_list import JSONList


def _permission_names(user_path: str) -> Subquery:
    """The permissions reached through `user_path` from a permission to the outer query's user, as
    one JSON list of {app, codename} (None when there are none)."""
    rows = (
        Permission.objects.filter(**{user_path: OuterRef("pk")})
        .order_by()
        .values(user_path)
        .annotate(names=JSONList(JSONObject(app=F("content_type__app_label"), codename=F("codename"))))
        .values("names")
    )
    return Subquery(rows, output_field=JSONField())


class OneQueryModelBackend(ModelBackend):
    """ModelBackend, with the user of every request read together with their own and their groups'
    permissions, so the role check costs no query of its own. Kept on the user object for the request,
    as ModelBackend keeps what it reads (`_perm_cache`): a role change counts from the user's next
    request."""

    def get_user(self, user_id):
        user = (
            get_user_model()
            ._default_manager.annotate(
                own_permissions=_permission_names("user"), group_permissions=_permission_names("group__user")
            )
            .filter(pk=user_id)
            .first()
        )
        if user is None or not self.user_can_authenticate(user):
            return None
        if user.is_active and not user.is_superuser:
            rows = [*(user.own_permissions or []), *(user.group_permissions or [])]
            user._perm_cache = {f"{row['app']}.{row['codename']}" for row in rows}
        return user

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache") and not user_obj.is_superuser:
            # A user not read by get_user (a login, a test's own user): both lists in one query.
            fresh = self.get_user(user_obj.pk)
            user_obj._perm_cache = fresh._perm_cache if fresh is not None else set()
        return super().get_all_permissions(user_obj, obj)
