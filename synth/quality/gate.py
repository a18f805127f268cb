"""The quality gate: runs each check on a candidate and stores every verdict with its reason."""

from __future__ import annotations

from synth.models import Candidate, QualityResult, SeedTask
from synth.quality.corpus import check_near_duplicate
from synth.quality.diversity import check_domain
from synth.quality.exact import content_hash
from synth.quality.facts import check_facts
from synth.quality.non_answer import check_non_answer, check_truncated
from synth.quality.novelty_check import check_novelty
from synth.quality.phi import check_phi
from synth.quality.verdict import Verdict
from synth.quality.verification import check_drugs, check_icd_codes

__all__ = ["CHECKS", "Verdict", "apply_gate"]


def check_exact_duplicate(candidate: Candidate) -> Verdict:
    """A candidate repeating a seed task or an earlier kept candidate is dropped, naming the original.

    A preference pair is compared with earlier pairs only (prompt and both responses): its prompt is
    borrowed from a seed task or a kept candidate by design, so matching that would drop every pair.
    """
    earlier = (
        Candidate.objects.filter(content_hash=candidate.content_hash, status=Candidate.Status.PASSED)
        .filter(pk__lt=candidate.pk)  # re-gating never lets a later copy replace its original
        .filter(**({"rejected_output__gt": ""} if candidate.is_pair else {"rejected_output": ""}))
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if earlier is not None:
        kind, label = ("pair", "preference pair") if candidate.is_pair else ("candidate", "candidate")
        return Verdict(
            "exact_duplicate",
            False,
            f"Exact duplicate of an earlier {label}",
            {"duplicate_of": {"kind": kind, "id": earlier}},
        )
    if candidate.is_pair:
        return Verdict("exact_duplicate", True)
    for seed in SeedTask.objects.filter(is_active=True).only("pk", "instruction", "input"):
        if content_hash(seed.instruction, seed.input) == candidate.content_hash:
            return Verdict(
                "exact_duplicate",
                False,
                "Exact duplicate of a seed task",
                {"duplicate_of": {"kind": "seed_task", "id": seed.pk}},
            )
    return Verdict("exact_duplicate", True)


# Filters first (the first failure names the reason), then the flags and scores every candidate gets.
CHECKS = (
    check_non_answer,
    check_truncated,
    check_exact_duplicate,
    check_near_duplicate,
    check_phi,
    check_icd_codes,
    check_drugs,
    check_facts,
    check_novelty,
    check_domain,
)


GATE_CHECK_NAMES = frozenset(
    {
        "non_answer",
        "truncated",
        "exact_duplicate",
        "near_duplicate",
        "phi",
        "icd_codes",
        "drugs",
        "facts",
        "novelty",
        "domain",
    }
)


def apply_gate(candidate: Candidate) -> Candidate:
    """Run every check, store each verdict (re-running replaces, never duplicates), set the status.

    A candidate that a technique's own rule filtered (e.g. Self-Instruct's ROUGE-L pool filter) stays
    filtered for that reason when re-gated: the gate adds its verdicts, it never overrules the technique.
    """
    verdicts = [check(candidate) for check in CHECKS]
    for verdict in verdicts:
        QualityResult.objects.update_or_create(
            candidate=candidate,
            check_name=verdict.check_name,
            defaults={
                "passed": verdict.passed,
                "flagged": verdict.flagged,
                "score": verdict.score,
                "reason": verdict.reason[:200],
                "evidence": verdict.evidence,
            },
        )
    technique_filter = (
        candidate.status == Candidate.Status.FILTERED and candidate.filter_reason not in GATE_CHECK_NAMES
    )
    failed = next((v for v in verdicts if not v.passed), None)
    if not technique_filter:
        candidate.status = Candidate.Status.FILTERED if failed else Candidate.Status.PASSED
        candidate.filter_reason = failed.check_name if failed else ""
    candidate.held_back = candidate.status == Candidate.Status.PASSED and any(v.hold_back for v in verdicts)
    candidate.save(update_fields=["status", "filter_reason", "held_back"])
    return candidate
