"""What the data lead's dashboard reads: the funnel, the gate's coverage, reviewer agreement, exports."""

from __future__ import annotations

from django.urls import reverse

from review import charts
from review.agreement_report import agreement_report
from review.funnel import pipeline_counts
from review.models import Export
from synth.selectors import coverage_section


def recent_exports(*, limit: int = 20) -> dict:
    """The latest exports, and whether one is still building (the list then polls)."""
    exports = list(Export.objects.select_related("created_by")[:limit])
    return {
        "exports": exports,
        "exports_busy": any(e.status in (Export.Status.QUEUED, Export.Status.RUNNING) for e in exports),
    }


def reviewer_pair(report: dict, pair_key: str | None) -> dict:
    """One reviewer pair of the agreement report, as "<id>-<id>" names it (else the pair with the most
    items in common), with its confusion matrix."""
    pairs = report["pairs"]
    chosen = next((p for p in pairs if f"{p['reviewer_a_id']}-{p['reviewer_b_id']}" == pair_key), None)
    chosen = chosen or (max(pairs, key=lambda p: p["items"]) if pairs else None)
    return {
        "pairs": pairs,
        "pair": chosen,
        "pair_key": f"{chosen['reviewer_a_id']}-{chosen['reviewer_b_id']}" if chosen else "",
        "confusion": charts.confusion_cells(chosen) if chosen else None,
    }


def pair_comparison(*, pair_key: str | None) -> dict:
    """The reviewer-pair panel alone (the dashboard swaps it when another pair is chosen)."""
    return reviewer_pair(agreement_report(), pair_key)


def dashboard_overview(*, pair_key: str | None = None) -> dict:
    """The dashboard's context: everything but the export form, which the view makes."""
    report = agreement_report()
    counts = pipeline_counts()
    # A bar's href is where a click on it goes: the sampled records are the batches' samples.
    funnel_links = {"sampled": reverse("review:batch_list")}
    return {
        "counts": counts,
        "coverage": coverage_section(),
        "report": report,
        "charts": {
            "funnel": charts.funnel(counts, hrefs=funnel_links),
            "agreement": charts.agreement_summary(report),
            "over_time": charts.agreement_over_time(report["over_time"]),
            "by_domain": charts.alpha_bars(report["by_domain"], title="Agreement by domain", group="domain"),
            "by_technique": charts.alpha_bars(
                report["by_technique"],
                title="Agreement by technique",
                group="technique",
                labels=charts.technique_label,
            ),
            "verdicts": charts.reviewer_verdicts(report["reviewers"]),
        },
        **reviewer_pair(report, pair_key),
        **recent_exports(),
    }
