"""Double-reviewed items, through the review queue, for the agreement report, the dashboard and exports."""

from __future__ import annotations

import pytest
from django.utils import timezone

from review.models import Adjudication, Assignment, Decision, ReviewItem
from review.queue import claim_next, submit_decision

# Two physicians review each of the six items; (first physician, second physician), then the
# adjudicator's verdict where they disagree on approve versus reject.
SCRIPT = [
    ("accept", "accept", None),
    ("accept", "edit", None),
    ("reject", "reject", None),
    ("accept", "reject", "accept"),
    ("edit", "accept", None),
    ("reject", "accept", "reject"),
]
SECONDS = {"physician": [10, 20, 30, 40, 50, 60], "physician2": [5, 5, 5, 100, 100, 100]}


def review(reviewer, verdict: str, n: int) -> Decision:
    item = claim_next(reviewer)
    assignment = Assignment.objects.get(item=item, reviewer=reviewer)
    extra = {}
    if verdict == "reject":
        extra = {"reasons": ["factually_wrong"]}
    elif verdict == "edit":
        extra = {
            "instruction": item.candidate.instruction,
            "task_input": item.candidate.input,
            "output": f"Corrected answer by {reviewer.username} for item {n}.",
        }
    decision = submit_decision(reviewer=reviewer, assignment_id=assignment.pk, verdict=verdict, **extra)
    # Time per decision is the review workspace's to record (issue 5); set it as the contract defines it.
    Decision.objects.filter(pk=decision.pk).update(seconds_spent=SECONDS[reviewer.username][n])
    return decision


@pytest.fixture
def double_reviewed(review_items, physician, physician2, senior):
    """The six items of `review_items`, each reviewed by both physicians, disagreements adjudicated."""
    # Overlap sampling is being built in the review workspace (issue 5): set the contract field.
    ReviewItem.objects.filter(pk__in=[i.pk for i in review_items]).update(required_reviews=2)
    items = review_items[:6]
    for n in range(len(items)):
        review(physician, SCRIPT[n][0], n)
    for n in range(len(items)):
        review(physician2, SCRIPT[n][1], n)
    for item, (_a, _b, ruling) in zip(items, SCRIPT, strict=False):
        item.refresh_from_db()
        if ruling is None:
            assert item.status == ReviewItem.Status.DECIDED
            continue
        assert item.status == ReviewItem.Status.NEEDS_ADJUDICATION
        # The adjudication page is issue 5's; record the ruling as its contract fields define it.
        Adjudication.objects.create(item=item, adjudicator=senior, verdict=ruling)
        ReviewItem.objects.filter(pk=item.pk).update(
            status=ReviewItem.Status.DECIDED, final_verdict=ruling, decided_at=timezone.now()
        )
    return [ReviewItem.objects.select_related("candidate", "final_revision").get(pk=i.pk) for i in items]


@pytest.fixture
def script():
    """What each physician (and the adjudicator) said about each item, in order."""
    return SCRIPT
