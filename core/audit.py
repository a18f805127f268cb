"""Logins and logouts in the audit trail, beside the model changes django-auditlog records itself,
and an update logged from the row as read under its lock."""

from __future__ import annotations

from auditlog.context import disable_auditlog
from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db import models
from django.dispatch import receiver


def _log_access(user, request, event: str) -> None:
    LogEntry.objects.log_create(
        user,
        force_log=True,
        action=LogEntry.Action.ACCESS,
        actor=user,
        changes={"session": [None, event]},
        remote_addr=request.META.get("REMOTE_ADDR") if request else None,
        additional_data={"event": event},
    )


@receiver(user_logged_in, dispatch_uid="audit_login")
def audit_login(sender, request, user, **kwargs) -> None:
    _log_access(user, request, "login")


@receiver(user_logged_out, dispatch_uid="audit_logout")
def audit_logout(sender, request, user, **kwargs) -> None:
    if user is not None:
        _log_access(user, request, "logout")


def save_logged(instance: models.Model, *, as_locked: models.Model, update_fields: list[str]) -> None:
    """Save `instance`'s `update_fields` with the audit entry django-auditlog would write, without
    the query it makes to read the row again before the save to compute the changes.

    `as_locked`: a copy of the row as read under its row lock in the current transaction, before any
    change: what django-auditlog's own read would return. The entry is written before the update,
    as django-auditlog's pre_save receiver does, with the same changes and the same actor.
    """
    changes = model_instance_diff(
        as_locked,
        instance,
        fields_to_check=update_fields,
        use_json_for_changes=settings.AUDITLOG_STORE_JSON_CHANGES,
    )
    if changes:
        LogEntry.objects.log_create(instance, action=LogEntry.Action.UPDATE, changes=changes)
    with disable_auditlog():
        instance.save(update_fields=update_fields)
