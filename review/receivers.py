"""Where review listens to synth: a completed run is sampled into the review queue; the launch
form and run page ask which sampling rule applies; a task worker that starts (or gets its database
back) resumes exports whose worker died; `seed_demo` gets the demo's reviewer guidelines."""

from django.dispatch import receiver

from core.signals import worker_ready
from review.demo_data import load_reviewer_guidelines
from review.sampling import rule_for, sample_run
from synth.signals import demo_data_loaded, run_completed, sampling_rule_requested


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


@receiver(demo_data_loaded, dispatch_uid="load_reviewer_guidelines")
def reviewer_guidelines(sender, **kwargs) -> dict:
    return {"guidelines": load_reviewer_guidelines()}
