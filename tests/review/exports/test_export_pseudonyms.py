"""No file of an export names a reviewer or holds an account id: from the demo's defaults (double review,
a dispute settled by the senior), reviewers are pseudonyms keyed to each export, unless the data lead asks
for stable ones; the agreement figures keep their numbers. The dashboard still shows names."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from review.agreement_report import agreement_report
from review.exports.build import export_folder
from review.models import ReviewItem
from tests.review.journey import (
    adjudicate,
    decide,
    double_review_policy,
    export_from_dashboard,
    exported_texts,
    generate,
    identity_leaks,
    logged_in,
    seed_demo,
    zip_texts,
)


@pytest.fixture(autouse=True)
def _offline_datasets(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))


@pytest.fixture
def double_reviewed(db):
    """seed_demo; every item reviewed by both demo physicians on the review page; the senior settles the
    one they disagree on."""
    users = seed_demo()
    double_review_policy(users["admin"])
    items = generate()
    assert all(i.required_reviews == 2 for i in ReviewItem.objects.all())
    first, second = logged_in(users["physician"]), logged_in(users["physician2"])
    for _ in items:
        decide(first, "accept")
    disputed = decide(second, "reject")
    for _ in items[1:]:
        decide(second, "accept")
    disputed.refresh_from_db()
    assert disputed.status == ReviewItem.Status.NEEDS_ADJUDICATION
    adjudicate(logged_in(users["senior"]), disputed, "accept")
    assert not ReviewItem.objects.exclude(status=ReviewItem.Status.DECIDED).exists()
    return users, items


def pseudonyms_in(folder) -> set[str]:
    records = [json.loads(line) for line in (folder / "train.jsonl").read_text().splitlines()]
    return {review["reviewer"] for record in records for review in record["reviews"]}


def test_no_exported_file_names_a_reviewer_and_the_figures_keep_their_numbers(
    double_reviewed, django_capture_on_commit_callbacks
):
    users, items = double_reviewed
    lead = logged_in(users["datalead"])
    exports = [
        export_from_dashboard(lead, django_capture_on_commit_callbacks, format=fmt, kind="sft")
        for fmt in ("hf", "jsonl", "csv", "parquet")
    ]
    everyone = get_user_model().objects.all()
    # The check finds what the old manifest held (usernames, ids, `reviewer-{pk}`), so its silence means something.
    physician = users["physician"]
    old = {
        "manifest.json": json.dumps(
            {"reviewer": "physician", "reviewer_id": physician.pk, "r": f"reviewer-{physician.pk}"}
        )
    }
    assert len(identity_leaks(old, [physician])) == 3
    for row in exports:
        assert row.status == "ready" and row.record_count == len(items), row.error
        texts = exported_texts(export_folder(row))
        texts |= {f"zip {name}": text for name, text in zip_texts(lead, row).items()}
        assert identity_leaks(texts, everyone) == [], row.format

    hf = exports[0]
    manifest = json.loads((export_folder(hf) / "manifest.json").read_text())
    report = agreement_report(domains=None)
    assert manifest["agreement"]["overall"] == report["overall"]
    ((pair,), (named,)) = manifest["agreement"]["pairs"], report["pairs"]
    assert {k: pair[k] for k in ("items", "kappa", "percent_agreement")} == {
        k: named[k] for k in ("items", "kappa", "percent_agreement")
    }
    # The same table, read from either reviewer's side (pairs are ordered by pseudonym, not by account).
    counts = named["confusion"]["counts"]
    assert pair["confusion"]["counts"] in (counts, [list(row) for row in zip(*counts, strict=True)])
    assert [r["items"] for r in manifest["agreement"]["reviewers"]] == [len(items), len(items)]
    # Within one export, the pseudonyms of the records and of the figures are the same people.
    physicians = {pair["reviewer_a"], pair["reviewer_b"]}
    assert {r["reviewer"] for r in manifest["agreement"]["reviewers"]} == physicians
    jsonl = exports[1]
    assert len(pseudonyms_in(export_folder(jsonl))) == 3  # two physicians and the senior
    card = (export_folder(hf) / "README.md").read_text()
    assert f"| {pair['reviewer_a']} and {pair['reviewer_b']} | {pair['items']} |" in card
    # The studio's own dashboard still shows who is who.
    page = lead.get("/dashboard/").text
    assert "physician2" in page


def test_two_exports_cannot_be_joined_on_pseudonyms_unless_stable_ones_are_asked_for(
    double_reviewed, django_capture_on_commit_callbacks, tmp_path
):
    users, _items = double_reviewed
    lead = logged_in(users["datalead"])
    one, two = (export_from_dashboard(lead, django_capture_on_commit_callbacks) for _ in range(2))
    first, second = pseudonyms_in(export_folder(one)), pseudonyms_in(export_folder(two))
    assert len(first) == len(second) == 3 and first.isdisjoint(second)
    assert not any(p == f"reviewer-{u.pk}" for p in first for u in get_user_model().objects.all())

    # Stable pseudonyms: the form's option and the command's flag give the same ones every time.
    stable = export_from_dashboard(lead, django_capture_on_commit_callbacks, stable_pseudonyms="on")
    assert stable.filters["stable_pseudonyms"] is True
    for name in ("a", "b"):
        call_command("export", "--stable-pseudonyms", "--out", str(tmp_path / name))
    assert (
        pseudonyms_in(export_folder(stable)) == pseudonyms_in(tmp_path / "a") == pseudonyms_in(tmp_path / "b")
    )
    assert pseudonyms_in(tmp_path / "a").isdisjoint(first | second)
    texts = exported_texts(tmp_path / "a")
    assert identity_leaks(texts, get_user_model().objects.all()) == []
    assert (
        "the same in every export" in json.dumps(texts["manifest.json"])
        or json.loads(texts["manifest.json"])["pseudonyms"] == "stable"
    )
