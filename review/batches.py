"""Acceptance sampling: a batch's reviewed sample says whether its unreviewed remainder can be released."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from review.models import APPROVING_VERDICTS, Batch, ReviewItem
from review.queue.errors import ReviewError
from synth.models import Candidate

Z_95 = 1.959963984540054  # two-sided 95 %


def wilson_interval(successes: int, total: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a proportion: sound at small samples and near 0 or 1, unlike p ± z·se."""
    if total == 0:
        return 0.0, 1.0
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class BatchSummary:
    batch: Batch
    sampled: int
    decided: int
    accepted: int
    unsampled: int  # passed the gate, not held back, never sampled: what a release lets out

    @property
    def sample_complete(self) -> bool:
        return self.sampled > 0 and self.decided == self.sampled

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted / self.decided if self.decided else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.accepted, self.decided)

    @property
    def releasable(self) -> bool:
        return self.sample_complete and self.interval[0] >= self.batch.acceptance_threshold

    @property
    def state(self) -> str:
        """Where the batch stands, in one word the pages explain: a batch with nothing sampled never
        becomes "under review"."""
        if self.batch.released_at is not None:
            return "released"
        if self.sampled == 0:
            return "not_sampled" if self.unsampled else "empty"
        if not self.sample_complete:
            return "under_review"
        return "releasable" if self.releasable else "below_threshold"


def batch_summary(batch: Batch) -> BatchSummary:
    counts = ReviewItem.objects.filter(batch=batch).aggregate(
        sampled=Count("pk"),
        decided=Count("pk", filter=Q(status=ReviewItem.Status.DECIDED)),
        accepted=Count(
            "pk", filter=Q(status=ReviewItem.Status.DECIDED, final_verdict__in=APPROVING_VERDICTS)
        ),
    )
    unsampled = (
        Candidate.objects.filter(run_id=batch.run_id, status=Candidate.Status.PASSED, held_back=False)
        .filter(review_item__isnull=True)
        .count()
    )
    return BatchSummary(batch=batch, unsampled=unsampled, **counts)


def release_batch(*, batch_id: int, user, confirmed_count: int | None) -> Batch:
    """The data lead releases the unreviewed remainder of a batch whose sample clears the threshold.

    `confirmed_count`: how many records the data lead saw on the confirmation page and agreed to
    release; without it, or when the batch has changed since, nothing is released.
    """
    with transaction.atomic():
        batch = Batch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None:
            raise ReviewError("There is no such batch.")
        if batch.released_at is not None:
            return batch  # released already: a second click changes nothing
        summary = batch_summary(batch)
        if not summary.sample_complete:
            raise ReviewError(
                f"The sample is not fully reviewed yet ({summary.decided} of {summary.sampled} decided); "
                "release it once every sampled item is decided."
            )
        low, _ = summary.interval
        if low < batch.acceptance_threshold:
            raise ReviewError(
                f"The lower bound of the acceptance rate ({low:.1%}) is below the threshold "
                f"({batch.acceptance_threshold:.0%}): keep only the reviewed records of this batch."
            )
        if confirmed_count is None:
            raise ReviewError(
                "Nothing was released: confirm the release on its confirmation page, which shows how "
                "many unreviewed records it lets out."
            )
        if confirmed_count != summary.unsampled:
            raise ReviewError(
                f"Nothing was released: you confirmed {confirmed_count} records, but the batch now has "
                f"{summary.unsampled} unreviewed records. Check the figures below and confirm again."
            )
        batch.released_at = timezone.now()
        batch.released_by = user
        batch.save(update_fields=["released_at", "released_by"])
        return batch
