"""Agreement on preference pairs: which response two physicians who approved a pair preferred."""

from __future__ import annotations

import json

from django.core.management import call_command

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
