"""Double-reviewed items, through the review queue, for the agreement report, the dashboard and exports."""

from __future__ import annotations

import pytest

from review.models import Assignment, Decision, ReviewItem
from review.queue import adjudicate, claim_next, submit_decision
from synth.models import Candidate

# Two physicians review each of the six items; (first physician, second physician), then the
# adjudicator's ruling where they disagree: on approve versus reject, or (blind review) on the text
# when one accepted the original and the other edited it ("edit": the senior chooses the edit).
SCRIPT = [
    ("accept", "accept", None),
    ("accept", "edit", "edit"),
    ("reject", "reject", None),
    ("accept", "reject", "accept"),
    ("edit", "accept", "edit"),
    ("reject", "accept", "reject"),
]
# For preference pairs: the response both physicians (and the adjudicator) prefer when approving.
PREFERENCES = ["rejected_output", "output", "", "output", "tie", "output"]
SECONDS = {"physician": [10, 20, 30, 40, 50, 60], "physician2": [5, 5, 5, 100, 100, 100]}


def review(reviewer, verdict: str, n: int, *, pair: bool) -> Decision:
    item = claim_next(reviewer)
    assignment = Assignment.objects.get(item=item, reviewer=reviewer)
    extra = {}
    if pair and verdict != "reject":
        extra["preference"] = PREFERENCES[n]
    if verdict == "reject":
        extra["reasons"] = ["factually_wrong"]
    elif verdict == "edit":
        extra |= {
            "instruction": item.candidate.instruction,
            "task_input": item.candidate.input,
            "output": f"Corrected answer by {reviewer.username} for item {n}.",
            "based_on": 0,
        }
    decision = submit_decision(reviewer=reviewer, assignment_id=assignment.pk, verdict=verdict, **extra)
    # The queue measures real time spent; the report's medians need known values.
    Decision.objects.filter(pk=decision.pk).update(seconds_spent=SECONDS[reviewer.username][n])
    return decision


@pytest.fixture
def reviewed_by_two(review_items, physician, physician2, senior):
    """Run the script on the six items of `review_items` (as preference pairs when asked)."""

    def run(*, pairs: bool = False) -> list[ReviewItem]:
        items = review_items[:6]
        assert len(items) == 6
        # Overlap sampling decides required_reviews in production; here every item gets two.
        ReviewItem.objects.filter(pk__in=[i.pk for i in items]).update(required_reviews=2)
        if pairs:
            # The preference-pair technique's output, as the data contract stores it.
            for n, item in enumerate(items):
                Candidate.objects.filter(pk=item.candidate_id).update(rejected_output=f"Other answer {n}.")
        for n in range(len(items)):
            review(physician, SCRIPT[n][0], n, pair=pairs)
        for n in range(len(items)):
            review(physician2, SCRIPT[n][1], n, pair=pairs)
        for n, (item, (_a, _b, ruling)) in enumerate(zip(items, SCRIPT, strict=True)):
            item.refresh_from_db()
            if ruling is None:
                assert item.status == ReviewItem.Status.DECIDED
                continue
            assert item.status == ReviewItem.Status.NEEDS_ADJUDICATION
            edit = item.decisions.filter(verdict="edit").first()
            adjudicate(
                adjudicator=senior,
                item_id=item.pk,
                verdict="accept" if ruling == "edit" else ruling,
                preference=PREFERENCES[n] if pairs and ruling != "reject" else "",
                comment="Settled against the guideline.",
                revision_id=edit.revision_id if ruling == "edit" else None,
            )
        return [ReviewItem.objects.select_related("candidate", "final_revision").get(pk=i.pk) for i in items]

    return run


@pytest.fixture
def double_reviewed(reviewed_by_two):
    """The six items, each reviewed by both physicians, disagreements adjudicated."""
    return reviewed_by_two()


@pytest.fixture
def double_reviewed_pairs(reviewed_by_two):
    """The same, with every item a preference pair and the physicians choosing between its responses."""
    return reviewed_by_two(pairs=True)


@pytest.fixture
def script():
    """What each physician (and the adjudicator) said about each item, in order."""
    return SCRIPT
