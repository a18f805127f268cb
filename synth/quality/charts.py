"""What the coverage charts plot: domain shares against their targets, and the novelty histogram, as
data for static/charts.js (core/charts.py; templates/review/coverage.html)."""

from __future__ import annotations

from typing import Any

from core.charts import axis, chart, datum
from synth.quality.diversity import CoverageReport


def domain_chart(report: CoverageReport, domain_href=None) -> dict[str, Any]:
    """One bar per domain: its share of kept candidates, with a mark at its target share."""
    total = sum(d.count for d in report.domains)
    data = []
    for d in report.domains:
        target = f"target {d.target:.0%}" if d.target is not None else "no target"
        text = f"{d.share:.0%} ({d.count} of {total}), {target}"
        gap = ""
        if d.target is not None:
            gap = f"{abs(d.gap):.0%} {'below' if d.gap > 0 else 'above'} target" if d.gap else "on target"
        tooltip = [f"{d.share:.1%} of kept candidates", f"n = {d.count} of {total}", target, gap]
        href = domain_href(d.slug) if domain_href else ""
        data.append(
            datum(d.name, d.share, text=text, tooltip=[t for t in tooltip if t], target=d.target, href=href)
        )
    top = max([d.share for d in report.domains] + [d.target or 0 for d in report.domains] + [0.1])
    return chart(
        "bar",
        title="Share of kept candidates per domain, with each domain's target",
        data=data,
        value_axis=axis("Share of kept candidates", high=min(1.0, round(top + 0.05, 2)), percent=True),
        horizontal=True,
        empty="" if total else "No candidate has passed the gate yet: nothing to cover.",
        note="The dark tick on each bar is the domain's target share." if total else "",
    )


def novelty_chart(report: CoverageReport) -> dict[str, Any]:
    """A histogram of ROUGE-L against the instruction pool (lower is more novel)."""
    total = sum(b["count"] for b in report.novelty_bins)
    data = []
    for b in report.novelty_bins:
        label = f"{b['from']:.1f}–{b['to']:.1f}"
        share = f" ({b['count'] / total:.0%})" if total else ""
        text = f"{b['count']} candidate{'' if b['count'] == 1 else 's'}{share}"
        data.append(
            datum(label, b["count"], text=text, tooltip=[f"ROUGE-L {label}", f"n = {b['count']}{share}"])
        )
    return chart(
        "bar",
        title="Novelty: ROUGE-L of each kept instruction against the pool",
        data=data,
        value_axis=axis("Candidates"),
        category_axis="ROUGE-L against the instruction pool (lower is more novel)",
        empty="" if total else "No novelty scores yet: no kept candidate has been scored.",
    )


def coverage_charts(report: CoverageReport, *, domain_href=None) -> dict[str, Any]:
    return {"domains": domain_chart(report, domain_href), "novelty": novelty_chart(report)}
