"""A decision its reviewer undid stays on record (Decision.history) but counts nowhere: not in the
agreement figures, not in an export's reviews."""

from __future__ import annotations

import json

from review.agreement_report import agreement_report
from review.exports.build import build_export, export_folder
from review.models import Assignment, Decision, Export
from review.queue import claim_next, submit_decision, undo_last_decision


def decide(reviewer, verdict: str) -> Decision:
    item = claim_next(reviewer)
    assignment = Assignment.objects.get(item=item, reviewer=reviewer)
    extra = {"reasons": ["factually_wrong"]} if verdict == "reject" else {}
    return submit_decision(reviewer=reviewer, assignment_id=assignment.pk, verdict=verdict, **extra)


def test_an_undone_reject_counts_neither_in_agreement_nor_in_the_export(review_items, physician, physician2):
    item = review_items[0]
    type(item).objects.filter(pk=item.pk).update(required_reviews=2)
    # The first physician rejects by mistake, undoes it, and accepts; the second accepts.
    mistaken = decide(physician, "reject")
    assert mistaken.item_id == item.pk
    undo_last_decision(reviewer=physician)
    decide(physician, "accept")
    decide(physician2, "accept")
    assert Decision.history.filter(item=item).count() == 3
    assert list(Decision.objects.filter(item=item).values_list("verdict", flat=True)) == ["accept", "accept"]

    report = agreement_report(with_intervals=False)
    assert report["overall"]["items"] == 1 and report["overall"]["percent_agreement"] == 1.0
    (pair,) = report["pairs"]
    assert pair["items"] == 1 and pair["confusion"]["counts"][2] == [0, 0, 0]  # no reject row
    by_name = {row["reviewer"]: row for row in report["reviewers"]}
    assert by_name["physician"]["items"] == 1 and by_name["physician"]["reject_rate"] == 0.0

    export = build_export(Export.objects.create(kind="sft", format="jsonl"))
    (record,) = [
        json.loads(line) for line in (export_folder(export) / "train.jsonl").read_text().splitlines()
    ]
    assert record["id"] == f"item-{item.pk}"
    assert [r["verdict"] for r in record["reviews"]] == ["accept", "accept"]
