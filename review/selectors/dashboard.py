"""What the data lead's dashboard reads: the funnel, the gate's coverage, reviewer agreement, exports."""

from __future__ import annotations

from collections.abc import Callable

from review import charts
from review.agreement_report import agreement_report
from review.charts import technique_label
from review.exports.formats import FORMATS
from review.exports.last_gate import WITHHELD
from review.exports.settings import SFT_STYLES
from review.funnel import pipeline_counts
from review.models import Export
from review.selectors.records import records_url
from synth.models import Domain
from synth.selectors import coverage_section


def _export_settings(export: Export, domain_names: dict[str, str]) -> list[str]:
    """An export's settings in words, one line each: what it holds, its filters, its split."""
    settings = export.filters or {}
    kind = export.get_kind_display()
    fmt = FORMATS[export.format].label if export.format in FORMATS else export.format
    lines = [f"{kind} · {fmt}"]
    if export.kind == "sft":
        lines.append(
            f"Records: {SFT_STYLES.get(settings.get('sft_style', 'messages'), settings.get('sft_style'))}"
        )
    elif settings.get("dpo_from_edits"):
        lines.append("Pairs: physicians' preferences, and each edit against its original")
    filters = []
    if settings.get("domains"):
        filters.append("domains " + ", ".join(domain_names.get(s, s) for s in settings["domains"]))
    if settings.get("techniques"):
        filters.append("techniques " + ", ".join(technique_label(t) for t in settings["techniques"]))
    if settings.get("date_from") or settings.get("date_to"):
        filters.append(f"generated {settings.get('date_from') or '…'} to {settings.get('date_to') or '…'}")
    if settings.get("min_agreement") is not None:
        filters.append(f"domain alpha at least {settings['min_agreement']}")
    if settings.get("include_released"):
        filters.append("released batches included")
    lines.append("Filters: " + ("; ".join(filters) if filters else "none (every approved record)"))
    share = settings.get("validation_share") or 0
    seed = settings.get("seed", 42)
    lines.append(
        f"Split: {share:.0%} validation, seed {seed}" if share else f"Split: train only (seed {seed})"
    )
    if settings.get("stable_pseudonyms"):
        lines.append("Stable reviewer pseudonyms")
    return lines


def _export_counts(export: Export) -> list[str]:
    """What the export's manifest counted: records per split, reviewed, released and edited."""
    counts = (export.manifest or {}).get("counts")
    if not counts:
        return []
    splits = ", ".join(f"{split} {n}" for split, n in counts.get("splits", {}).items())
    lines = [splits] if splits else []
    lines.append(
        f"{counts.get('reviewed', 0)} reviewed, {counts.get('released', 0)} released, {counts.get('edited', 0)} edited"
    )
    lines.append(f"{counts.get('selected', 0)} selected by the filters")
    return lines


def recent_exports(*, limit: int = 20) -> dict:
    """The latest exports, each with its settings and counts in words, and whether one is still
    building (the list then polls)."""
    exports = list(Export.objects.select_related("created_by")[:limit])
    domain_names = dict(Domain.objects.values_list("slug", "name"))
    for export in exports:
        export.settings_lines = _export_settings(export, domain_names)
        export.count_lines = _export_counts(export)
        withheld = (export.manifest or {}).get("withheld") or {}
        export.withheld_lines = [f"{WITHHELD[r]}: {n}" for r, n in withheld.items() if n and r in WITHHELD]
    return {
        "exports": exports,
        "exports_busy": any(e.status in (Export.Status.QUEUED, Export.Status.RUNNING) for e in exports),
    }


def _cell_href(pair: dict) -> Callable[[str, str], str]:
    """A confusion cell's link: the items on which the pair's standing decisions have its two verdicts."""

    def href(verdict_a: str, verdict_b: str) -> str:
        return records_url(
            reviewer_a=pair["reviewer_a"],
            verdict_a=verdict_a,
            reviewer_b=pair["reviewer_b"],
            verdict_b=verdict_b,
        )

    return href


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
        "confusion": charts.confusion_cells(chosen, href=_cell_href(chosen)) if chosen else None,
    }


def pair_comparison(*, pair_key: str | None) -> dict:
    """The reviewer-pair panel alone (the dashboard swaps it when another pair is chosen)."""
    return reviewer_pair(agreement_report(), pair_key)


def dashboard_overview(*, pair_key: str | None = None) -> dict:
    """The dashboard's context: everything but the export form, which the view makes."""
    report = agreement_report()
    counts = pipeline_counts()
    # A bar's href is where a click on it goes: the records behind the figure, in the record browser.
    funnel_links = {"sampled": records_url(), "reviewed": records_url(status="decided")}
    return {
        "counts": counts,
        "coverage": coverage_section(domain_href=lambda slug: records_url(domain=slug)),
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
