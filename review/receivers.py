"""Where review listens to synth: a completed run is sampled into the review queue, and the launch
form and run page ask which sampling rule applies."""

from django.dispatch import receiver

from review.sampling import rule_for, sample_run
from synth.signals import run_completed, sampling_rule_requested


@receiver(run_completed)
def sample_completed_run(sender, *, run, **kwargs) -> None:
    sample_run(run)


@receiver(sampling_rule_requested)
def sampling_rule(sender, *, run, sample_rate, **kwargs) -> dict:
    return rule_for(run, sample_rate)
