"""Logins and logouts in the audit trail, beside the model changes django-auditlog records itself;
entries built here (an update's from the row as read under its lock) and written in one INSERT."""

from __future__ import annotations

from auditlog.cid import get_cid
from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.contrib.contenttypes.models import ContentType
from django.db import models, router
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.utils.encoding import smart_str


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


# Entries built here and written together (write_entries): one INSERT for the entries of a decision,
# where django-auditlog's receivers write one each, and an update's entry built from the row as read
# under its lock, where django-auditlog reads the row again. The fields are those its
# LogEntry.objects.log_create fills in; tests/test_audit_trail.py compares them with its own entries.


def created_entry(instance: models.Model) -> LogEntry:
    """The entry django-auditlog writes when `instance` is created, not yet saved: create `instance`
    under `disable_auditlog()` and pass this to write_entries."""
    return _entry(instance, LogEntry.Action.CREATE, _diff(None, instance))


def updated_entry(
    instance: models.Model, *, as_locked: models.Model, update_fields: list[str]
) -> LogEntry | None:
    """The entry for saving `update_fields` of `instance` (None when nothing changed): save it under
    `disable_auditlog()`. `as_locked`: a copy of the row as read under its row lock in the current
    transaction, before any change: what django-auditlog's own read would return."""
    changes = _diff(as_locked, instance, update_fields)
    return _entry(instance, LogEntry.Action.UPDATE, changes) if changes else None


def write_entries(entries: list[LogEntry | None]) -> None:
    """Write the entries in one INSERT, with the actor and remote address of the request.

    bulk_create sends no pre_save signal, and that signal is how django-auditlog's middleware
    (auditlog.context.set_actor) fills in the actor: it is sent here for each entry, as a save would.
    """
    entries = [entry for entry in entries if entry is not None]
    for entry in entries:
        pre_save.send(
            sender=LogEntry,
            instance=entry,
            raw=False,
            using=router.db_for_write(LogEntry),
            update_fields=None,
        )
    LogEntry.objects.bulk_create(entries)


def _diff(old, new, fields=None) -> dict:
    return model_instance_diff(
        old, new, fields_to_check=fields, use_json_for_changes=settings.AUDITLOG_STORE_JSON_CHANGES
    )


def _entry(instance: models.Model, action: int, changes: dict) -> LogEntry:
    return LogEntry(
        content_type=ContentType.objects.get_for_model(instance),
        object_pk=str(instance.pk),
        object_id=instance.pk if isinstance(instance.pk, int) else None,
        object_repr=smart_str(instance),
        serialized_data=LogEntry.objects._get_serialized_data_or_none(instance),
        action=action,
        changes=changes,
        cid=get_cid(),
    )
