"""Where review listens to synth: a completed run is sampled into the review queue."""

from django.dispatch import receiver

from review.sampling import sample_run
from synth.signals import run_completed


@receiver(run_completed)
def sample_completed_run(sender, *, run, **kwargs) -> None:
    sample_run(run)
