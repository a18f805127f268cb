"""What a chart hands the browser: plain data, sent as `json_script` and drawn by static/charts.js.

Every page's chart builder (review/charts.py, synth/quality/charts.py) returns a `chart(...)`: its
bars or points, each with a label (words, not codes), the text its tooltip and its table row show (n
and the 95 % interval where there is one), and an optional `href` that a click on it follows; the
value axis (its range includes every value and interval end, negative ones too), the floor lines that
matter, and `empty`, the sentence shown instead of a chart with nothing honest to plot.
"""

from __future__ import annotations

import math
from typing import Any


def datum(
    label: str,
    value: float | None,
    *,
    text: str,
    tooltip: list[str] | None = None,
    low: float | None = None,
    high: float | None = None,
    target: float | None = None,
    href: str = "",
) -> dict[str, Any]:
    """One bar or point. `text` is its figure in words (the table row); the tooltip adds lines."""
    return {
        "label": label,
        "value": value,
        "low": low,
        "high": high,
        "target": target,
        "text": text,
        "tooltip": tooltip or [text],
        "href": href,
    }


def axis(title: str, *, low: float = 0.0, high: float | None = None, percent: bool = False) -> dict[str, Any]:
    return {"title": title, "min": low, "max": high, "percent": percent}


def span(values: list[float | None], *, floor: float = 0.0, ceiling: float | None = None, step: float = 0.25):
    """(min, max) of an axis holding every value: below `floor` only when a value is, rounded out to `step`."""
    present = [v for v in values if v is not None]
    low = min([floor, *present])
    low = math.floor(low / step) * step if low < floor else floor
    high = ceiling
    if ceiling is not None and present and max(present) > ceiling:
        high = math.ceil(max(present) / step) * step
    return low, high


def floor_line(value: float, label: str) -> dict[str, Any]:
    return {"value": value, "label": label}


def chart(
    kind: str,
    *,
    title: str,
    data: list[dict[str, Any]],
    value_axis: dict[str, Any],
    category_axis: str = "",
    horizontal: bool = False,
    floors: list[dict[str, Any]] | None = None,
    series: list[str] | None = None,
    empty: str = "",
    note: str = "",
) -> dict[str, Any]:
    """A chart for static/charts.js. `kind` is "bar" or "line"; `empty` replaces the chart when set.
    With `series`, each datum's `stack` holds one value per series, drawn as stacked bars."""
    return {
        "kind": kind,
        "title": title,
        "horizontal": horizontal,
        "data": [] if empty else data,
        "value_axis": value_axis,
        "category_axis": category_axis,
        "floors": floors or [],
        "series": series or [],
        "empty": empty,
        "note": note,
    }
