"""The pipeline funnel the data lead watches: how many records survive each stage."""

from __future__ import annotations

from django.db.models import Count, Q

from review.models import APPROVING_VERDICTS, ReviewItem
from synth.models import Candidate


def pipeline_counts() -> dict[str, int]:
    candidates = Candidate.objects.aggregate(
        generated=Count("pk"),
        filtered=Count("pk", filter=Q(status=Candidate.Status.FILTERED)),
        passed=Count("pk", filter=Q(status=Candidate.Status.PASSED)),
    )
    items = ReviewItem.objects.aggregate(
        sampled=Count("pk", distinct=True),  # distinct: the join on decisions repeats double-reviewed items
        reviewed=Count("pk", filter=Q(decisions__isnull=False), distinct=True),
        approved=Count(
            "pk",
            filter=Q(status=ReviewItem.Status.DECIDED, final_verdict__in=APPROVING_VERDICTS),
            distinct=True,
        ),
        rejected=Count(
            "pk", filter=Q(status=ReviewItem.Status.DECIDED, final_verdict="reject"), distinct=True
        ),
        disputed=Count("pk", filter=Q(status=ReviewItem.Status.NEEDS_ADJUDICATION), distinct=True),
    )
    return {**candidates, **items}
