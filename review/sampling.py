"""Choosing which candidates of a finished run physicians review."""

from __future__ import annotations

import math
import random

from django.db import transaction

from review.models import Batch, ReviewItem
from synth.models import Candidate, GenerationRun


def sample_size(passed: int, rate: float) -> int:
    """How many of `passed` candidates a `rate` sends to review: at least one when the rate is above 0."""
    if passed == 0 or rate <= 0:
        return 0
    return min(passed, max(1, math.floor(passed * rate + 0.5)))


def sample_run(run: GenerationRun) -> Batch:
    """Put a reproducible random sample of the run's passed candidates in the review queue.

    Candidates in high-risk domains are always reviewed. Calling it again changes nothing.
    """
    with transaction.atomic():
        batch, created = Batch.objects.get_or_create(run=run, defaults={"sample_rate": run.sample_rate})
        if not created:
            return batch
        passed = list(
            run.candidates.filter(status=Candidate.Status.PASSED)
            .select_related("domain")
            .order_by("sequence")
        )
        always = [c for c in passed if c.domain is not None and c.domain.high_risk]
        always_ids = {c.pk for c in always}
        others = [c for c in passed if c.pk not in always_ids]
        rng = random.Random(f"sample:{run.pk}")
        chosen = always + rng.sample(others, sample_size(len(others), run.sample_rate))
        chosen.sort(key=lambda c: c.sequence)
        ReviewItem.objects.bulk_create(ReviewItem(candidate=c, batch=batch) for c in chosen)
        batch.passed_count = len(passed)
        batch.save(update_fields=["passed_count"])
        GenerationRun.objects.filter(pk=run.pk).update(sampled_count=len(chosen))
    return batch
