"""Where review listens to synth: a completed run is sampled into the review queue; the launch
form and run page ask which sampling rule applies; a task worker that starts (or gets its database
back) resumes exports whose worker died."""

from django.dispatch import receiver

from core.signals import worker_ready
from review.sampling import rule_for, sample_run
from synth.signals import run_completed, sampling_rule_requested


@receiver(run_completed)
def sample_completed_run(sender, *, run, **kwargs) -> None:
    sample_run(run)


@receiver(worker_ready, dispatch_uid="look_after_active_exports")
def look_after_active_exports(sender, **kwargs) -> None:
    from review.exports.watchdog import look_after_active_exports

    look_after_active_exports()


@receiver(sampling_rule_requested)
def sampling_rule(sender, *, run, sample_rate, **kwargs) -> dict:
    return rule_for(run, sample_rate)
