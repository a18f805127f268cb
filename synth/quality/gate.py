"""The quality gate: runs each check on a candidate and stores every verdict with its reason."""

from __future__ import annotations

from synth.models import Candidate, QualityResult
from synth.quality.checks import check_names, ordered_checks

__all__ = ["apply_gate"]


def apply_gate(candidate: Candidate) -> Candidate:
    """Run every check, store each verdict (re-running replaces, never duplicates), set the status.

    The checks run in their order (synth/quality/checks/): filters first, so the first failure names
    the reason, then the flags and scores every candidate gets. A check that does not apply to the
    candidate leaves no result (an earlier one of its name is removed).

    A candidate that a technique's own rule filtered (e.g. Self-Instruct's ROUGE-L pool filter) stays
    filtered for that reason when re-gated: the gate adds its verdicts, it never overrules the technique.
    """
    checks = ordered_checks()
    applicable = [check for check in checks if check.applies_to(candidate)]
    verdicts = [check.verdict(candidate) for check in applicable]
    skipped = [check.name for check in checks if check not in applicable]
    if skipped:
        QualityResult.objects.filter(candidate=candidate, check_name__in=skipped).delete()
    # One INSERT for all verdicts, replacing a check's earlier result where there is one (not one
    # update_or_create per check: four statements each, with its savepoint).
    QualityResult.objects.bulk_create(
        [
            QualityResult(
                candidate=candidate,
                check_name=verdict.check_name,
                passed=verdict.passed,
                flagged=verdict.flagged,
                score=verdict.score,
                reason=verdict.reason[:200],
                evidence=verdict.evidence,
            )
            for verdict in verdicts
        ],
        update_conflicts=True,
        unique_fields=["candidate", "check_name"],
        update_fields=["passed", "flagged", "score", "reason", "evidence"],
    )
    technique_filter = (
        candidate.status == Candidate.Status.FILTERED and candidate.filter_reason not in check_names()
    )
    failed = next((v for v in verdicts if not v.passed), None)
    if not technique_filter:
        candidate.status = Candidate.Status.FILTERED if failed else Candidate.Status.PASSED
        candidate.filter_reason = failed.check_name if failed else ""
    candidate.held_back = candidate.status == Candidate.Status.PASSED and any(v.hold_back for v in verdicts)
    stamps = {name: value for verdict in verdicts for name, value in verdict.stamps.items()}
    for name, value in stamps.items():
        setattr(candidate, name, value)
    candidate.save(update_fields=["status", "filter_reason", "held_back", *stamps])
    return candidate
