"""A reviewer's own figures (review.selectors.workspace) agree with the dashboard's per-reviewer table,
and a revised decision counts as its latest."""

from __future__ import annotations

from review.agreement_report import agreement_report
from review.models import Decision
from review.queue import revise_decision
from review.selectors.workspace import all_reviewer_figures, reviewer_figures


def test_the_figures_match_the_agreement_reports_reviewer_rows(double_reviewed, physician, physician2):
    report = {row["reviewer"]: row for row in agreement_report(with_intervals=False)["reviewers"]}
    for reviewer in (physician, physician2):
        figures = reviewer_figures(reviewer=reviewer)["overall"]
        row = report[reviewer.username]
        assert figures["items"] == row["items"] == 6
        assert figures["median_seconds"] == row["median_seconds"]
        assert figures["adjudicated"] == row["adjudicated_items"]
        assert round(figures["match_rate"], 3) == round(row["agreement_with_adjudication"], 3)
    # The script: physician matched all four rulings; physician2 matched two (items 4 and 6 differ).
    assert reviewer_figures(reviewer=physician)["overall"]["matched"] == 4
    assert reviewer_figures(reviewer=physician2)["overall"]["matched"] == 2
    trend = reviewer_figures(reviewer=physician)["trend"]
    assert sum(week["items"] for week in trend) == 6
    lead = {row["reviewer"].username: row for row in all_reviewer_figures()["rows"]}
    assert lead["physician"]["overall"] == reviewer_figures(reviewer=physician)["overall"]


def test_a_revised_decision_counts_once_as_its_latest(review_items, physician):
    from review.models import Assignment
    from review.queue import claim_next, submit_decision

    item = claim_next(physician)
    assignment = Assignment.objects.get(item=item, reviewer=physician)
    old = submit_decision(reviewer=physician, assignment_id=assignment.pk, verdict="accept")
    Decision.objects.filter(pk=old.pk).update(seconds_spent=42)
    revise_decision(reviewer=physician, decision_id=old.pk, verdict="reject", reasons=["unsafe"])
    figures = reviewer_figures(reviewer=physician)["overall"]
    assert (figures["items"], figures["median_seconds"]) == (1, 42)
