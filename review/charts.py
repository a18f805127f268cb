"""Geometry for the dashboard's server-rendered SVG charts (no script, no inline style: CSP allows neither)."""

from __future__ import annotations

from typing import Any

WIDTH = 640


def funnel_bars(counts: dict[str, int]) -> list[dict[str, Any]]:
    """One horizontal bar per pipeline stage, as wide as its share of what was generated."""
    stages = [
        ("Generated", counts["generated"]),
        ("Passed the gate", counts["passed"]),
        ("Sampled for review", counts["sampled"]),
        ("Reviewed", counts["reviewed"]),
        ("Approved", counts["approved"]),
    ]
    top = max(counts["generated"], 1)
    return [
        {
            "label": label,
            "value": value,
            "y": i * 28,
            "width": max(1, round(420 * value / top)) if value else 0,
        }
        for i, (label, value) in enumerate(stages)
    ]


def agreement_bars(rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Horizontal bars of alpha (0 to 1; below 0 drawn as 0) with the bootstrap interval as a whisker."""
    bars = []
    for i, (label, row) in enumerate(rows.items()):
        alpha = row["alpha"]
        low, high = (row.get("alpha_ci") or [None, None])[:2]

        def x(value):
            return None if value is None else round(300 * min(max(value, 0.0), 1.0))

        bars.append(
            {
                "label": label,
                "items": row["items"],
                "alpha": alpha,
                "y": i * 26,
                "width": x(alpha) or 0,
                "low": x(low),
                "high": x(high),
                "tone": "good" if alpha is not None and alpha >= 0.667 else "weak",
            }
        )
    return {"bars": bars, "height": max(len(bars), 1) * 26 + 4}


def agreement_line(points: list[dict[str, Any]], *, height: int = 140) -> dict[str, Any]:
    """Alpha week by week as a polyline over 0..1, with a dot per week."""
    step = (WIDTH - 80) / max(len(points) - 1, 1)
    dots = []
    for i, point in enumerate(points):
        if point["alpha"] is None:
            continue
        value = min(max(point["alpha"], 0.0), 1.0)
        dots.append(
            {
                "x": round(40 + i * step, 1),
                "y": round(10 + (1 - value) * (height - 20), 1),
                "week": point["week"],
                "alpha": point["alpha"],
                "items": point["items"],
            }
        )
    return {
        "height": height,
        "points": " ".join(f"{d['x']},{d['y']}" for d in dots),
        "dots": dots,
        "threshold_y": round(10 + (1 - 0.667) * (height - 20), 1),
    }


def confusion_cells(pair: dict[str, Any]) -> dict[str, Any]:
    """A reviewer pair's verdict table as shaded cells: darker means more items."""
    counts = pair["confusion"]["counts"]
    top = max((n for row in counts for n in row), default=0) or 1
    labels = pair["confusion"]["labels"]
    return {
        "labels": labels,
        "rows": [
            {
                "label": labels[i],
                "cells": [
                    {"count": n, "shade": min(5, round(5 * n / top)), "agree": (i < 2) == (j < 2)}
                    for j, n in enumerate(row)
                ],
            }
            for i, row in enumerate(counts)
        ],
    }
