"""The agreement report, computed from database counts, gives the numbers the statistics define."""

import json

import pytest
from django.core.management import CommandError, call_command

from review.agreement import cohen_kappa, krippendorff_alpha
from review.agreement_report import agreement_report


def approve(verdict):
    return "reject" if verdict == "reject" else "approve"


def test_it_counts_six_double_reviewed_items(double_reviewed):
    assert len(double_reviewed) == 6
    report = agreement_report()
    assert report["overall"]["items"] == 6


def test_overall_alpha_equals_krippendorff_on_the_raw_verdicts(double_reviewed, script):
    raters = [[approve(a) for a, _b, _r in script], [approve(b) for _a, b, _r in script]]
    expected = krippendorff_alpha(raters)
    assert expected == pytest.approx(0.3125)  # worked by hand: 1 - 4 / (2 * 8 * 4 / 11)
    report = agreement_report()
    assert report["overall"]["alpha"] == pytest.approx(expected, abs=1e-4)
    assert report["overall"]["percent_agreement"] == pytest.approx(4 / 6, abs=1e-4)
    low, high = report["overall"]["alpha_ci"]
    assert low <= report["overall"]["alpha"] <= high


def test_it_breaks_agreement_down_by_domain_technique_and_week(double_reviewed):
    report = agreement_report()
    domain = double_reviewed[0].candidate.domain.name
    assert list(report["by_domain"]) == [domain]
    assert report["by_domain"][domain]["alpha"] == report["overall"]["alpha"]
    assert list(report["by_technique"]) == ["self_instruct"]
    assert len(report["over_time"]) == 1 and report["over_time"][0]["items"] == 6


def test_the_reviewer_pair_gets_cohens_kappa_and_a_confusion_matrix(double_reviewed, script):
    (pair,) = agreement_report()["pairs"]
    assert {pair["reviewer_a"], pair["reviewer_b"]} == {"physician", "physician2"}
    first = [approve(a) for a, _b, _r in script]
    second = [approve(b) for _a, b, _r in script]
    assert pair["kappa"] == pytest.approx(cohen_kappa(first, second), abs=1e-4) == pytest.approx(0.25)
    counts = pair["confusion"]["counts"]
    assert sum(map(sum, counts)) == 6
    labels = pair["confusion"]["labels"]
    a_verdicts = [a for a, _b, _r in script]
    b_verdicts = [b for _a, b, _r in script]
    if pair["reviewer_a"] != "physician":
        a_verdicts, b_verdicts = b_verdicts, a_verdicts
    for va, vb in zip(a_verdicts, b_verdicts, strict=True):
        assert counts[labels.index(va)][labels.index(vb)] >= 1


def test_each_reviewer_gets_rates_median_time_and_agreement_with_adjudication(double_reviewed):
    rows = {r["reviewer"]: r for r in agreement_report()["reviewers"]}
    first = rows["physician"]
    assert first["items"] == 6
    assert (first["accept_rate"], first["edit_rate"], first["reject_rate"]) == (0.5, 0.1667, 0.3333)
    assert first["median_seconds"] == 35
    # Adjudicated: items 3 and 5 (approve against reject) and, under blind review, items 1 and 4
    # (an accept and an edit: the texts differ; the senior chose the edit, an approval).
    assert (first["adjudicated_items"], first["agreement_with_adjudication"]) == (4, 1.0)
    second = rows["physician2"]
    assert second["median_seconds"] == 52.5
    assert (second["adjudicated_items"], second["agreement_with_adjudication"]) == (4, 0.5)


def test_the_command_prints_the_same_report_as_json(double_reviewed, capsys):
    call_command("agreement_report", "--json")
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(agreement_report()))


def test_the_command_filters_by_domain_and_prints_text(double_reviewed, capsys):
    slug = double_reviewed[0].candidate.domain.slug
    call_command("agreement_report", "--domain", slug)
    out = capsys.readouterr().out
    assert "Overall: alpha 0.312" in out and "physician + physician2" in out
    call_command("agreement_report", "--json", "--domain", "cardiology")
    assert json.loads(capsys.readouterr().out)["overall"]["items"] == 0


def test_the_command_names_an_unknown_domain(double_reviewed):
    with pytest.raises(CommandError, match=r"Unknown domain.*no-such-domain"):
        call_command("agreement_report", "--domain", "no-such-domain")


def test_an_empty_database_gives_an_empty_report(db):
    report = agreement_report()
    assert report["overall"] == {
        "items": 0,
        "alpha": None,
        "alpha_ci": [None, None],
        "percent_agreement": None,
    }
    assert report["pairs"] == [] and report["reviewers"] == []


def test_it_counts_items_whose_approving_reviewers_ended_with_different_texts(double_reviewed):
    # Items 0, 1 and 4 were approved by both physicians; on 1 and 4 one accepted and the other edited.
    texts = agreement_report()["texts_differ"]
    assert (texts["items"], texts["differ"], texts["share"]) == (3, 2, round(2 / 3, 4))
