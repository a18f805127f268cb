"""A revised decision (the reviewer's own list, "My reviews") supersedes the old one: both stay on record
(Decision.history), only the new one counts, in the agreement figures, the dashboard and exports."""

from __future__ import annotations

import json

from review.agreement_report import agreement_report
from review.exports.build import build_export, export_folder
from review.models import Assignment, Decision, Export, ReviewItem
from review.queue import claim_next, revise_decision, submit_decision
from review.selectors.dashboard import dashboard_overview


def decide(reviewer, verdict: str) -> Decision:
    item = claim_next(reviewer)
    assignment = Assignment.objects.get(item=item, reviewer=reviewer)
    extra = {"reasons": ["factually_wrong"]} if verdict == "reject" else {}
    return submit_decision(reviewer=reviewer, assignment_id=assignment.pk, verdict=verdict, **extra)


def test_a_revised_reject_counts_as_the_new_accept_in_agreement_dashboard_and_export(
    review_items, physician, physician2
):
    item = review_items[0]
    ReviewItem.objects.filter(pk=item.pk).update(required_reviews=2)
    old = decide(physician, "reject")
    decide(physician2, "accept")
    item.refresh_from_db()
    assert item.status == "needs_adjudication"
    before = agreement_report(with_intervals=False)
    assert before["overall"]["percent_agreement"] == 0.0

    new = revise_decision(reviewer=physician, decision_id=old.pk, verdict="accept", comment="Re-read it.")
    item.refresh_from_db()
    assert (item.status, item.final_verdict) == ("decided", "accept")  # re-settled: both approve now
    assert Decision.history.filter(item=item).count() == 3
    old.refresh_from_db()
    assert old.verdict == "reject" and old.superseded_at is not None  # kept as it was
    assert new.supersedes_id == old.pk and new.comment == "Re-read it."
    assert sorted(Decision.objects.filter(item=item).values_list("verdict", flat=True)) == [
        "accept",
        "accept",
    ]

    report = agreement_report(with_intervals=False)
    assert report["overall"]["items"] == 1 and report["overall"]["percent_agreement"] == 1.0
    (pair,) = report["pairs"]
    assert pair["items"] == 1 and pair["confusion"]["counts"][2] == [0, 0, 0]
    by_name = {row["reviewer"]: row for row in report["reviewers"]}
    assert by_name["physician"]["items"] == 1 and by_name["physician"]["reject_rate"] == 0.0
    overview = dashboard_overview()
    assert overview["report"]["overall"]["percent_agreement"] == 1.0

    export = build_export(Export.objects.create(kind="sft", format="jsonl"))
    (record,) = [
        json.loads(line) for line in (export_folder(export) / "train.jsonl").read_text().splitlines()
    ]
    assert record["id"] == f"item-{item.pk}"
    assert [r["verdict"] for r in record["reviews"]] == ["accept", "accept"]


def test_a_revised_accept_sends_a_settled_item_to_adjudication_and_out_of_exports(
    review_items, physician, physician2
):
    item = review_items[0]
    ReviewItem.objects.filter(pk=item.pk).update(required_reviews=2)
    old = decide(physician, "accept")
    decide(physician2, "accept")
    item.refresh_from_db()
    assert item.is_approved
    revise_decision(reviewer=physician, decision_id=old.pk, verdict="reject", reasons=["unsafe"])
    item.refresh_from_db()
    assert (item.status, item.final_verdict, item.decided_at) == ("needs_adjudication", "", None)
    export = build_export(Export.objects.create(kind="sft", format="jsonl"))
    assert export.status == Export.Status.EMPTY or f"item-{item.pk}" not in (
        (export_folder(export) / "train.jsonl").read_text()
    )
