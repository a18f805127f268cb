"""What the reviewer sees of the gate's verdicts: each flag with its evidence, PHI spans marked."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from synth.models import Candidate, QualityResult
from synth.quality.checks import ordered_checks


def flag_titles() -> dict[str, str]:
    """The checks whose flags reviewers see, by name, with their titles, in the order shown."""
    shown = sorted((c for c in ordered_checks() if c.flag_title), key=lambda c: c.flag_order)
    return {check.name: check.flag_title for check in shown}


@dataclass
class Segment:
    text: str
    kind: str = ""  # a PHI kind's label when this piece is a finding


@dataclass
class Flag:
    check_name: str
    title: str
    reason: str
    evidence: dict[str, Any]
    failed: bool
    marked: list[tuple[str, list[Segment]]] = field(default_factory=list)  # (field label, segments)


def _segments(text: str, findings: list[dict[str, Any]]) -> list[Segment]:
    pieces, at = [], 0
    for finding in sorted(findings, key=lambda f: f["start"]):
        if finding["start"] < at:
            continue
        if finding["start"] > at:
            pieces.append(Segment(text[at : finding["start"]]))
        pieces.append(
            Segment(text[finding["start"] : finding["end"]], finding.get("label") or finding["kind"])
        )
        at = finding["end"]
    if at < len(text):
        pieces.append(Segment(text[at:]))
    return pieces


def _results(candidate: Candidate) -> dict[str, QualityResult]:
    # Read with the candidate as one JSON array by the review page's statement (review.queue.claims).
    rows = getattr(candidate, "gate_results", False)
    if rows is False:  # not read with the candidate
        return {r.check_name: r for r in QualityResult.objects.filter(candidate=candidate)}
    results = {}
    for row in rows or []:  # None: the candidate has no results
        evidence = row["evidence"]
        results[row["check_name"]] = QualityResult(
            candidate=candidate,
            check_name=row["check_name"],
            passed=bool(row["passed"]),  # SQLite's JSON has 0 and 1 for booleans
            flagged=bool(row["flagged"]),
            score=row["score"],
            reason=row["reason"],
            evidence=json.loads(evidence) if isinstance(evidence, str) else evidence,
        )
    return results


def flags_for(*, candidate: Candidate) -> dict[str, Any]:
    """The flagged or failed checks of a candidate, in display order, and its novelty score."""
    results = _results(candidate)
    flags = []
    for check_name, title in flag_titles().items():
        result = results.get(check_name)
        if result is None or (result.passed and not result.flagged):
            continue
        flag = Flag(check_name, title, result.reason, result.evidence, not result.passed)
        if check_name == "phi":
            by_field: dict[str, list[dict[str, Any]]] = {}
            for finding in result.evidence.get("findings", []):
                by_field.setdefault(finding["field"], []).append(finding)
            for field_name, findings in by_field.items():
                text = getattr(candidate, field_name, "")
                flag.marked.append((findings[0].get("field_label", field_name), _segments(text, findings)))
        flags.append(flag)
    novelty: QualityResult | None = results.get("novelty")
    return {"flags": flags, "novelty": novelty.score if novelty else None, "checked": bool(results)}
