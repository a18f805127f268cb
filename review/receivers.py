"""Where review listens to synth: a completed run is sampled into the review queue; a task worker that
starts (or gets its database back) resumes exports whose worker died."""

from django.dispatch import receiver

from review.sampling import sample_run
from synth.signals import run_completed, worker_ready


@receiver(run_completed)
def sample_completed_run(sender, *, run, **kwargs) -> None:
    sample_run(run)


@receiver(worker_ready, dispatch_uid="look_after_active_exports")
def look_after_active_exports(sender, **kwargs) -> None:
    from review.exports.build import look_after_active_exports

    look_after_active_exports()
