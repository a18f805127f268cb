"""What the dashboard's charts plot (review/charts.py, core/charts.py): honest axes, floors, labels,
intervals and n, and empty states that say why."""

from __future__ import annotations

from core.charts import span
from review import charts


def row(alpha, items, low=None, high=None):
    return {"alpha": alpha, "items": items, "alpha_ci": [low, high], "percent_agreement": 0.8}


def test_the_axis_reaches_below_zero_only_when_a_value_or_interval_does():
    assert span([0.4, 0.9]) == (0.0, None)
    assert span([0.4, -0.1], ceiling=1.0) == (-0.25, 1.0)
    assert span([0.2, None, -0.3], ceiling=1.0) == (-0.5, 1.0)


def test_a_negative_alpha_is_plotted_where_it_is_with_its_interval_and_n():
    chart = charts.alpha_bars({"Cardiology": row(-0.25, 14, -0.6, 0.1)}, title="By domain", group="domain")
    (bar,) = chart["data"]
    assert bar["value"] == -0.25 and (bar["low"], bar["high"]) == (-0.6, 0.1)
    assert chart["value_axis"]["min"] == -0.75 and chart["value_axis"]["max"] == 1.0
    assert "95% interval -0.60 to 0.10" in bar["tooltip"] and "n = 14 double-reviewed" in bar["tooltip"]
    assert [f["value"] for f in chart["floors"]] == [0.667, 0.8]


def test_groups_too_small_to_judge_are_named_not_charted():
    rows = {"Cardiology": row(0.7, 12, 0.5, 0.9), "Neonatology": row(1.0, 3, 1.0, 1.0)}
    chart = charts.alpha_bars(rows, title="By domain", group="domain")
    assert [d["label"] for d in chart["data"]] == ["Cardiology"]
    assert "not charted: Neonatology (3)" in chart["note"]


def test_too_few_items_is_an_empty_state_that_says_so():
    chart = charts.alpha_bars(
        {"Cardiology": row(0.5, 7), "Pediatrics": row(0.1, 5)}, title="t", group="domain"
    )
    assert chart["data"] == []
    assert chart["empty"] == "12 double-reviewed items; agreement needs at least 10 per domain."


def test_techniques_are_named_by_their_label():
    chart = charts.alpha_bars(
        {"self_instruct": row(0.8, 20, 0.7, 0.9)}, title="t", group="technique", labels=charts.technique_label
    )
    assert chart["data"][0]["label"] == "Self-Instruct"


def test_each_week_has_its_date_and_interval():
    chart = charts.agreement_over_time([{"week": "2026-11-30", **row(0.9, 11, 0.8, 1.0)}])
    (point,) = chart["data"]
    assert point["label"] == "Week of 2026-11-30" and point["low"] == 0.8
