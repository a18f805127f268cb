from django.apps import AppConfig


class SynthConfig(AppConfig):
    name = "synth"
    verbose_name = "Generation"

    def ready(self) -> None:
        from synth import audit  # noqa: F401  (logins and logouts in the audit trail)
