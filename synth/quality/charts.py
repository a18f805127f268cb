"""Geometry for the coverage charts: server-rendered SVG, no script (templates/review/coverage.html)."""

from __future__ import annotations

from dataclasses import dataclass

from synth.quality.diversity import CoverageReport

LABEL_WIDTH = 180
BAR_WIDTH = 320
ROW = 22


@dataclass
class Bar:
    label: str
    y: int
    width: float
    value: str
    target_x: float | None = None
    target: str = ""


def domain_chart(report: CoverageReport) -> dict[str, object]:
    """One bar per domain: its share of kept candidates, and a mark at its target share."""
    top = max([d.share for d in report.domains] + [d.target or 0 for d in report.domains] + [0.01])
    bars = []
    for i, d in enumerate(report.domains):
        bars.append(
            Bar(
                d.name,
                i * ROW,
                round(BAR_WIDTH * d.share / top, 1),
                f"{d.share:.0%} ({d.count})",
                round(LABEL_WIDTH + BAR_WIDTH * d.target / top, 1) if d.target is not None else None,
                f"target {d.target:.0%}" if d.target is not None else "",
            )
        )
    return {
        "bars": bars,
        "height": max(len(bars), 1) * ROW + 4,
        "label_width": LABEL_WIDTH,
        "bar_x": LABEL_WIDTH,
    }


def novelty_chart(report: CoverageReport) -> dict[str, object]:
    """A histogram of ROUGE-L against the pool (lower is more novel)."""
    top = max([b["count"] for b in report.novelty_bins] + [1])
    columns = []
    for i, b in enumerate(report.novelty_bins):
        height = round(100 * b["count"] / top, 1)
        columns.append(
            {
                "x": i * 36,
                "y": 110 - height,
                "height": height,
                "count": b["count"],
                "label": f"{b['from']:.1f}",
            }
        )
    return {"columns": columns}
