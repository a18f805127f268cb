"""What the dashboard's charts plot: the funnel, agreement overall, over time, by domain and technique,
and each reviewer's verdicts, as data for static/charts.js (core/charts.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.charts import axis, chart, datum, floor_line, span
from synth.plugins import TECHNIQUES

# Fewer double-reviewed items than this in a group and its alpha says little: it is left off the
# chart (and named under it) rather than drawn as a bar as solid as any other.
MIN_ITEMS = 10
ALPHA_FLOORS = [
    floor_line(0.667, "0.667: tentative conclusions"),
    floor_line(0.8, "0.8: reliable"),
]


def _number(value: float | None, places: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{places}f}"


def _alpha_datum(label: str, row: dict[str, Any], href: str = "") -> dict[str, Any]:
    low, high = (row.get("alpha_ci") or [None, None])[:2]
    items = row["items"]
    interval = f"95% interval {_number(low)} to {_number(high)}" if low is not None else "no interval"
    text = f"alpha {_number(row['alpha'])} ({interval}), n = {items} item{'' if items == 1 else 's'}"
    tooltip = [f"alpha {_number(row['alpha'], 3)}", interval, f"n = {items} double-reviewed"]
    if row.get("percent_agreement") is not None:
        tooltip.append(f"raw agreement {row['percent_agreement']:.0%}")
    return datum(label, row["alpha"], text=text, tooltip=tooltip, low=low, high=high, href=href)


def _alpha_axis(data: list[dict[str, Any]]) -> dict[str, Any]:
    low, high = span([v for d in data for v in (d["value"], d["low"], d["high"])], ceiling=1.0)
    return axis("Krippendorff's alpha", low=low, high=high)


def technique_label(name: str) -> str:
    technique = TECHNIQUES.get(name)
    return technique.label if technique else name


def alpha_bars(rows: dict[str, dict[str, Any]], *, title: str, group: str, labels=None) -> dict[str, Any]:
    """Alpha per group as horizontal bars with their 95 % interval; groups under MIN_ITEMS listed below."""
    labels = labels or (lambda key: key)
    shown, small, undefined = [], [], []
    for key, row in rows.items():
        if row["items"] < MIN_ITEMS:
            small.append(f"{labels(key)} ({row['items']})")
        elif row["alpha"] is None:
            undefined.append(labels(key))
        else:
            shown.append(_alpha_datum(labels(key), row))
    total = sum(row["items"] for row in rows.values())
    notes = []
    if small and shown:
        notes.append(f"Fewer than {MIN_ITEMS} double-reviewed items, not charted: {', '.join(small)}.")
    if undefined:
        notes.append(f"Alpha undefined (every review gave the same verdict): {', '.join(undefined)}.")
    empty = ""
    if not shown:
        empty = (
            f"{total} double-reviewed item{'' if total == 1 else 's'}; agreement needs at least "
            f"{MIN_ITEMS} per {group}."
        )
    return chart(
        "bar",
        title=title,
        data=shown,
        value_axis=_alpha_axis(shown),
        horizontal=True,
        floors=ALPHA_FLOORS,
        empty=empty,
        note=" ".join(notes),
    )


def agreement_summary(report: dict[str, Any]) -> dict[str, Any]:
    """The two headline alphas: approve versus reject, and which response of a pair is better."""
    rows = {
        "Approve vs reject": report["overall"],
        "Preferred response of a pair": report["preferences"],
    }
    return alpha_bars(rows, title="Agreement overall", group="measure")


def agreement_over_time(weeks: list[dict[str, Any]]) -> dict[str, Any]:
    """Alpha week by week (the week of the item's last review), each week with its interval and n."""
    charted = [w for w in weeks if w["items"] and w["alpha"] is not None]
    points = [_alpha_datum(f"Week of {w['week']}", w) for w in charted]
    thin = [w for w in charted if w["items"] < MIN_ITEMS]
    total = sum(w["items"] for w in weeks)
    empty = ""
    if not points:
        empty = (
            f"{total} double-reviewed item{'' if total == 1 else 's'}; no week has an alpha yet "
            "(it needs items on which reviewers gave different verdicts at least once)."
        )
    note = f"{len(thin)} week(s) with fewer than {MIN_ITEMS} items: read their intervals." if thin else ""
    return chart(
        "line",
        title="Agreement over time",
        data=points,
        value_axis=_alpha_axis(points),
        category_axis="Week (of each item's last review)",
        floors=ALPHA_FLOORS,
        empty=empty,
        note=note,
    )


def funnel(counts: dict[str, int], *, hrefs: dict[str, str] | None = None) -> dict[str, Any]:
    """One bar per pipeline stage, with its share of what was generated."""
    hrefs = hrefs or {}
    stages = [
        ("generated", "Generated", counts["generated"]),
        ("passed", "Passed the gate", counts["passed"]),
        ("sampled", "Sampled for review", counts["sampled"]),
        ("reviewed", "Reviewed", counts["reviewed"]),
        ("approved", "Approved", counts["approved"]),
    ]
    top = counts["generated"]
    data = [
        datum(
            label,
            value,
            text=f"{value}" + (f" ({value / top:.0%} of generated)" if top else ""),
            href=hrefs.get(key, ""),
        )
        for key, label, value in stages
    ]
    return chart(
        "bar",
        title="Pipeline funnel",
        data=data,
        value_axis=axis("Records"),
        horizontal=True,
        empty="" if top else "Nothing generated yet: launch a run to fill the funnel.",
    )


def reviewer_verdicts(reviewers: list[dict[str, Any]]) -> dict[str, Any]:
    """Each reviewer's share of accept, edit and reject, as bars of the three shares side by side."""
    data = []
    for r in reviewers:
        rates = [r["accept_rate"] or 0, r["edit_rate"] or 0, r["reject_rate"] or 0]
        text = f"accept {rates[0]:.0%}, edit {rates[1]:.0%}, reject {rates[2]:.0%} of {r['items']} items"
        data.append(datum(r["reviewer"], rates[0], text=text, tooltip=[text]))
        data[-1]["stack"] = rates
    return chart(
        "bar",
        title="Verdicts by reviewer",
        data=data,
        value_axis=axis("Share of the reviewer's decisions", high=1.0, percent=True),
        horizontal=True,
        series=["accept", "edit", "reject"],
        empty="" if data else "No decisions yet.",
    )


def confusion_cells(pair: dict[str, Any], href: Callable[[str, str], str] | None = None) -> dict[str, Any]:
    """A reviewer pair's verdict table as shaded cells: darker means more items. `href(verdict_a,
    verdict_b)` is where a click on a non-empty cell goes; its label says what the cell counts."""
    counts = pair["confusion"]["counts"]
    top = max((n for row in counts for n in row), default=0) or 1
    labels = pair["confusion"]["labels"]

    def cell(i: int, j: int, n: int) -> dict[str, Any]:
        items = f"{n} item{'' if n == 1 else 's'}"
        return {
            "count": n,
            "shade": min(5, round(5 * n / top)),
            "agree": (i < 2) == (j < 2),
            "href": href(labels[i], labels[j]) if href and n else "",
            "label": f"{items}: {pair['reviewer_a']} {labels[i]}, {pair['reviewer_b']} {labels[j]}",
        }

    return {
        "labels": labels,
        "rows": [
            {"label": labels[i], "cells": [cell(i, j, n) for j, n in enumerate(row)]}
            for i, row in enumerate(counts)
        ],
    }
