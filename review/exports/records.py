"""Which reviewed items an export holds, and how each becomes a training record."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Q, QuerySet

from review.models import APPROVING_VERDICTS, ReviewItem


def approved_items() -> QuerySet[ReviewItem]:
    """Items physicians approved (accepted, or accepted after editing), oldest first.

    A candidate the gate held back (PHI findings) stays out unless a physician's edit replaced its text.
    """
    return (
        ReviewItem.objects.filter(status=ReviewItem.Status.DECIDED, final_verdict__in=APPROVING_VERDICTS)
        .filter(Q(candidate__held_back=False) | Q(final_revision__isnull=False))
        .select_related("candidate__domain", "final_revision")
        .order_by("pk")
    )


def sft_record(item: ReviewItem) -> dict[str, Any]:
    """TRL's conversational format: a `messages` list; provenance rides along in plain columns."""
    source = item.final_revision or item.candidate
    prompt = source.instruction if not source.input else f"{source.instruction}\n\n{source.input}"
    candidate = item.candidate
    return {
        "messages": [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": source.output},
        ],
        "id": f"item-{item.pk}",
        "domain": candidate.domain.name if candidate.domain else "",
        "technique": candidate.technique,
        "teacher": candidate.teacher_provider,
        "teacher_model": candidate.teacher_model,
        "verdict": item.final_verdict,
        "edited": item.final_revision_id is not None,
    }


def sft_records() -> Iterator[dict[str, Any]]:
    for item in approved_items().iterator(chunk_size=2000):
        yield sft_record(item)


RECORD_BUILDERS = {"sft": sft_records}
