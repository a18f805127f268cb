"""Re-running the gate on existing candidates after a settings change, without duplicating results."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet

from synth.models import Candidate
from synth.quality.gate import apply_gate


@dataclass
class RegateSummary:
    checked: int = 0
    now_filtered: int = 0
    now_passed: int = 0
    now_held_back: int = 0
    changed: int = 0


def regate(*, candidates: QuerySet[Candidate]) -> RegateSummary:
    """Apply the gate again to each candidate, oldest first (so an original is judged before its copies).

    Each check's result is replaced in place (one QualityResult per candidate and check). A candidate
    already in the review queue keeps its place: the gate's verdict changes its flags, not its history.
    """
    summary = RegateSummary()
    for candidate in candidates.order_by("pk").iterator(chunk_size=500):
        before = (candidate.status, candidate.held_back)
        with transaction.atomic():
            apply_gate(candidate)
        summary.checked += 1
        summary.now_filtered += candidate.status == Candidate.Status.FILTERED
        summary.now_passed += candidate.status == Candidate.Status.PASSED
        summary.now_held_back += candidate.held_back
        summary.changed += (candidate.status, candidate.held_back) != before
    return summary
