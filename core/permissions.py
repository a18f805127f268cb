"""The authentication backend: Django's ModelBackend, reading a user's permissions in one query."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission


class OneQueryModelBackend(ModelBackend):
    """ModelBackend, with the role check of every request reading the user's own and their groups'
    permissions in one UNION query instead of two. Cached on the user object for the request, as
    ModelBackend does (`_perm_cache`), so a role change counts from the user's next request."""

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)  # every permission there is
        if not hasattr(user_obj, "_perm_cache"):
            own = self._get_user_permissions(user_obj)
            from_groups = Permission.objects.filter(group__user=user_obj)
            columns = ("content_type__app_label", "codename")
            rows = (
                own.values_list(*columns)
                .order_by()
                .union(from_groups.values_list(*columns).order_by())
                .order_by()
            )
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in rows}
        return user_obj._perm_cache
