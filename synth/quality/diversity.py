"""Diversity and coverage: the gate's funnel by check, and the coverage of domains against targets.

Each candidate's domains are assigned by the domain check (synth/quality/checks/domain.py); this
reports them, with the novelty scores and each filtering check's counts.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, Q

from synth.models import Candidate, Domain, GenerationRun, QualityResult
from synth.quality.checks import ordered_checks

NOVELTY_BINS = 10


def funnel_labels() -> dict[str, str]:
    """The funnel's rows: each check that filters or flags, by name, in the gate's order."""
    return {check.name: check.funnel_label for check in ordered_checks() if check.funnel_label}


@dataclass
class DomainShare:
    name: str
    slug: str
    count: int
    share: float
    target: float | None

    @property
    def gap(self) -> float:
        return (self.target or 0.0) - self.share


@dataclass
class CoverageReport:
    run_id: int | None
    funnel: dict[str, int]
    by_filter: list[dict[str, object]]
    domains: list[DomainShare]
    entropy: float
    normalized_entropy: float
    distinct: dict[str, float]
    novelty_bins: list[dict[str, object]]
    novelty_median: float | None
    below_target: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "run": self.run_id,
            "funnel": self.funnel,
            "by_filter": self.by_filter,
            "domains": [
                {
                    "domain": d.slug,
                    "name": d.name,
                    "count": d.count,
                    "share": round(d.share, 4),
                    "target": d.target,
                }
                for d in self.domains
            ],
            "entropy": round(self.entropy, 4),
            "normalized_entropy": round(self.normalized_entropy, 4),
            "distinct": self.distinct,
            "novelty": {"median": self.novelty_median, "bins": self.novelty_bins},
            "below_target": self.below_target,
        }


def _distinct_n(texts: list[str], n: int) -> float:
    grams: Counter[tuple[str, ...]] = Counter()
    for text in texts:
        tokens = text.lower().split()
        grams.update(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    total = sum(grams.values())
    return round(len(grams) / total, 4) if total else 0.0


def coverage_report(*, run: GenerationRun | None = None) -> CoverageReport:
    """The funnel by filter and coverage of the kept candidates, for one run or everything."""
    candidates = Candidate.objects.all() if run is None else Candidate.objects.filter(run=run)
    results = QualityResult.objects.filter(candidate__in=candidates)
    funnel = candidates.aggregate(
        generated=Count("pk"),
        filtered=Count("pk", filter=Q(status=Candidate.Status.FILTERED)),
        passed=Count("pk", filter=Q(status=Candidate.Status.PASSED)),
        held_back=Count("pk", filter=Q(status=Candidate.Status.PASSED, held_back=True)),
    )
    filtered = dict(
        candidates.filter(status=Candidate.Status.FILTERED)
        .values_list("filter_reason")
        .annotate(n=Count("pk"))
        .values_list("filter_reason", "n")
    )
    flagged = dict(
        results.filter(flagged=True)
        .values_list("check_name")
        .annotate(n=Count("pk"))
        .values_list("check_name", "n")
    )
    by_filter = [
        {"check": name, "label": label, "filtered": filtered.get(name, 0), "flagged": flagged.get(name, 0)}
        for name, label in funnel_labels().items()
    ]

    kept = candidates.filter(status=Candidate.Status.PASSED)
    assigned = results.filter(check_name="domain", candidate__status=Candidate.Status.PASSED)
    counts: Counter[str] = Counter()
    for evidence in assigned.values_list("evidence", flat=True):
        for slug in evidence.get("domains", [])[:1] or ["(none)"]:
            counts[slug] += 1
    unassigned = kept.count() - sum(counts.values())
    if unassigned > 0:  # candidates gated before domains were assigned: their generation domain
        for slug in kept.exclude(quality_results__check_name="domain").values_list("domain__slug", flat=True):
            counts[slug or "(none)"] += 1
    total = sum(counts.values())
    shares = [
        DomainShare(
            d.name,
            d.slug,
            counts.get(d.slug, 0),
            counts.get(d.slug, 0) / total if total else 0.0,
            d.target_share,
        )
        for d in Domain.objects.all()
    ]
    if counts.get("(none)"):
        shares.append(DomainShare("No domain", "(none)", counts["(none)"], counts["(none)"] / total, None))
    probabilities = [c / total for c in counts.values() if c] if total else []
    entropy = -sum(p * math.log2(p) for p in probabilities)
    normalized = entropy / math.log2(len(shares)) if len(shares) > 1 else 0.0

    outputs = list(kept.values_list("instruction", flat=True))
    distinct = {"distinct_1": _distinct_n(outputs, 1), "distinct_2": _distinct_n(outputs, 2)}

    scores = sorted(
        s
        for s in results.filter(check_name="novelty", candidate__status=Candidate.Status.PASSED).values_list(
            "score", flat=True
        )
        if s is not None
    )
    bins = [0] * NOVELTY_BINS
    for s in scores:
        bins[min(int(s * NOVELTY_BINS), NOVELTY_BINS - 1)] += 1
    novelty_bins = [
        {"from": i / NOVELTY_BINS, "to": (i + 1) / NOVELTY_BINS, "count": c} for i, c in enumerate(bins)
    ]
    median = round(scores[len(scores) // 2], 4) if scores else None
    below = [d.slug for d in sorted(shares, key=lambda d: -d.gap) if d.target and d.gap > 0]
    return CoverageReport(
        run.pk if run else None,
        funnel,
        by_filter,
        shares,
        entropy,
        normalized,
        distinct,
        novelty_bins,
        median,
        below,
    )


def domains_furthest_below_target(limit: int = 3) -> list[Domain]:
    """The admin's domains whose kept share is furthest under its target (for a run that fills gaps)."""
    report = coverage_report()
    slugs = report.below_target[:limit]
    by_slug = {d.slug: d for d in Domain.objects.filter(slug__in=slugs)}
    return [by_slug[s] for s in slugs if s in by_slug]
