"""Logins and logouts in the audit trail, beside the model changes django-auditlog records itself."""

from __future__ import annotations

from auditlog.models import LogEntry
from django.contrib.auth.signals import user_logged_in, user_logged_out
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
