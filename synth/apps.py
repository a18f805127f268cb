from django.apps import AppConfig


class SynthConfig(AppConfig):
    name = "synth"
    verbose_name = "Generation"

    def ready(self) -> None:
        from core.signals import worker_ready
        from synth import teachers, techniques  # noqa: F401  (their classes fill synth.plugins' registries)
        from synth.tasks import register as register_tasks

        register_tasks()  # the generation services queue these tasks without importing them
        worker_ready.connect(_look_after_active_runs, dispatch_uid="look_after_active_runs")


def _look_after_active_runs(sender, **kwargs) -> None:
    from synth.generation.watchdog import look_after_active_runs

    look_after_active_runs()
