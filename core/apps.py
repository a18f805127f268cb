from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares and none of them is about: roles, the audit trail of logins, the lockout
    page, upload limits, the task worker and the process supervisor behind `serve`."""

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from core import audit  # noqa: F401  (logins and logouts in the audit trail)
