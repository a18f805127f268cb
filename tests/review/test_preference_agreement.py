"""Agreement on preference pairs: which response two physicians who approved a pair preferred."""

from __future__ import annotations

import json

from django.core.management import call_command
from django.urls import reverse

from review.agreement import krippendorff_alpha
from review.agreement_report import agreement_report
from review.models import Decision


def test_reviewers_who_agree_on_every_preference_agree_fully(double_reviewed_pairs):
    # The script: both physicians approve items 0, 1 and 4, preferring rejected_output, output, tie.
    prefs = agreement_report(with_intervals=False)["preferences"]
    assert prefs["items"] == 3
    assert prefs["percent_agreement"] == 1.0 and prefs["alpha"] == 1.0


def test_a_disagreement_on_a_preference_lowers_it_as_krippendorff_defines(double_reviewed_pairs, physician2):
    item = double_reviewed_pairs[1]
    Decision.objects.filter(item=item, reviewer=physician2).update(preference="tie")
    prefs = agreement_report(with_intervals=False)["preferences"]
    assert prefs["items"] == 3
    assert prefs["percent_agreement"] == round(2 / 3, 4)
    # The same units, rater by rater: physician, then physician2.
    expected = krippendorff_alpha([["rejected_output", "output", "tie"], ["rejected_output", "tie", "tie"]])
    assert prefs["alpha"] == round(expected, 4)


def test_the_command_reports_it(double_reviewed_pairs, capsys):
    call_command("agreement_report", "--json")
    assert json.loads(capsys.readouterr().out)["preferences"]["items"] == 3
    call_command("agreement_report")
    assert "Preference pairs: alpha 1.000" in capsys.readouterr().out


def test_the_dashboard_shows_it(double_reviewed_pairs, data_lead, client_for):
    text = client_for(data_lead).get(reverse("review:dashboard")).text
    headline = text.split('data-testid="preference-alpha"')[1].split("</p>")[0]
    assert "alpha <strong>1.000</strong>" in headline and "over 3 pair items" in headline
    # Three items are too few to chart: the summary chart says how many it has and needs.
    assert "agreement needs at least 10 per measure" in text


def test_the_dataset_card_shows_it(double_reviewed_pairs):
    from review.exports.card import dataset_card

    report = agreement_report()
    manifest = {
        "export_id": 1,
        "snapshot_at": "2026-12-01T00:00:00+00:00",
        "settings": {"kind": "dpo", "sft_style": "messages", "validation_share": 0.0, "seed": 42},
        "counts": {"splits": {"train": 3}},
        "filter_counts": [],
        "withheld": {},
        "agreement": report,
    }
    card = dataset_card(manifest=manifest, data_files={"train": "data/train.parquet"}, provenance={})
    assert "Krippendorff's alpha (nominal) on the preferred response: 1.0000" in card
    assert "over 3 pair items" in card
