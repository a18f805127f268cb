"""What synth's pages read: the quality gate's funnel and coverage, why a run's texts were left out
(counts by reason, and the texts behind each count), and the settings to launch a run again."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Count
from django.urls import reverse

from synth.models import (
    Candidate,
    DiscardedText,
    GenerationRun,
    MinHashSignature,
    QualityResult,
    SeedTask,
    TeacherCall,
)
from synth.quality.charts import coverage_charts
from synth.quality.checks import ordered_checks
from synth.quality.diversity import CoverageReport, coverage_report
from synth.techniques import TECHNIQUES

# Why a run's texts were left out: filtered by the gate (or the technique's own score), passed but held
# back, dropped by the technique's rules before becoming candidates, or lost to a failed teacher call.
KINDS = {
    "filtered": "Filtered",
    "held_back": "Held back",
    "discarded": "Dropped by the technique's rules",
    "failed": "Failed teacher calls",
}
# Reasons that are not a quality check's (those are named by the check's own label).
REASON_LABELS = {
    "self_curation": "Self-curation score below the threshold",
    "rouge_l_novelty": "Too close to the task pool (ROUGE-L)",
    "needs_media": "Needs an image or a file",
    "empty_instruction": "Empty instruction",
    "no_information_gain": "No information gain over its parent",
    "response_is_refusal": "The response is a refusal",
    "response_is_empty": "The response is empty of content",
    "copied_scaffold": "Copied the prompt's scaffold words",
    "no_answer": "No answer (the offline teacher answers only what its knowledge base holds)",
    "unparseable": "Reply not in the asked format",
    "cut_off": "Reply cut off",
    "refusal": "The teacher refused",
    "rate_limited": "Rate limited",
    "timeout": "Timed out",
    "": "Other",
}
PAGE_SIZE = 50


def coverage_overview(*, run: GenerationRun | None = None) -> CoverageReport:
    """The funnel by filter and the coverage report, for one run or (None) everything."""
    return coverage_report(run=run or None)


def coverage_section(*, run: GenerationRun | None = None, domain_href=None) -> dict:
    """The coverage section's context: the report and its charts' data (templates/review/coverage.html).
    `domain_href(slug)`: where a click on a domain's bar goes (the records behind it)."""
    report = coverage_overview(run=run)
    names = {d.slug: d.name for d in report.domains}
    below = [names.get(slug, slug) for slug in report.below_target]
    return {
        "report": report,
        "charts": coverage_charts(report, domain_href=domain_href),
        "below_target": below,
    }


def reason_label(reason: str) -> str:
    checks = {c.name: c.funnel_label or c.flag_title for c in ordered_checks()}
    return checks.get(reason) or REASON_LABELS.get(reason) or reason.replace("_", " ").capitalize()


def _texts_url(run: GenerationRun, kind: str, reason: str) -> str:
    return reverse("synth:run_texts", args=[run.pk]) + f"?kind={kind}&reason={reason}"


def _counted(run: GenerationRun, kind: str, pairs) -> list[dict[str, Any]]:
    return [
        {"reason": reason, "label": reason_label(reason), "count": n, "url": _texts_url(run, kind, reason)}
        for reason, n in sorted(pairs, key=lambda pair: -pair[1])
    ]


def run_outcomes(*, run: GenerationRun) -> list[dict[str, Any]]:
    """What left the run's texts out, by kind and reason, with counts and a link to the texts."""
    filtered = (
        Candidate.objects.filter(run=run, status=Candidate.Status.FILTERED)
        .values_list("filter_reason")
        .annotate(n=Count("pk"))
    )
    held = (
        QualityResult.objects.filter(
            candidate__run=run,
            candidate__status=Candidate.Status.PASSED,
            candidate__held_back=True,
            flagged=True,
        )
        .values_list("check_name")
        .annotate(n=Count("pk"))
    )
    discarded = DiscardedText.objects.filter(run=run).values_list("reason").annotate(n=Count("pk"))
    failed = (
        TeacherCall.objects.filter(run=run, status=TeacherCall.Status.FAILED)
        .values_list("reason")
        .annotate(n=Count("pk"))
    )
    groups = []
    for kind, pairs in (
        ("filtered", filtered),
        ("held_back", held),
        ("discarded", discarded),
        ("failed", failed),
    ):
        rows = _counted(run, kind, list(pairs))
        if rows:
            groups.append(
                {"kind": kind, "label": KINDS[kind], "reasons": rows, "total": sum(r["count"] for r in rows)}
            )
    return groups


def _originals(references: list[dict]) -> dict[tuple[str, int], str]:
    """The text each duplicate repeats, by (kind, id): candidates, pairs and seed tasks (an approved
    revision is review's, and named by its number only)."""
    ids: dict[str, set[int]] = {}
    for ref in references:
        if isinstance(ref, dict) and isinstance(ref.get("id"), int):
            ids.setdefault(ref.get("kind", ""), set()).add(ref["id"])
    found: dict[tuple[str, int], str] = {}
    candidate_kinds = (MinHashSignature.Kind.CANDIDATE, MinHashSignature.Kind.PAIR)
    for kind in candidate_kinds:
        for pk, instruction in Candidate.objects.filter(pk__in=ids.get(kind, ())).values_list(
            "pk", "instruction"
        ):
            found[(kind, pk)] = instruction
    for pk, instruction in SeedTask.objects.filter(pk__in=ids.get("seed_task", ())).values_list(
        "pk", "instruction"
    ):
        found[("seed_task", pk)] = instruction
    return found


def _after(params: Mapping[str, str]) -> int | None:
    value = (params.get("after") or "").strip()
    return int(value) if value.isdigit() and int(value) < 2**63 else None


def left_out_texts(*, run: GenerationRun, params: Mapping[str, str]) -> dict[str, Any]:
    """The texts behind one count of the run page (`kind` and `reason`), with their evidence, a page at
    a time in id order (`after`: the last id shown). A kind or reason that is not one says so."""
    kind, reason = params.get("kind", ""), params.get("reason", "")
    context: dict[str, Any] = {
        "run": run,
        "kind": kind,
        "kind_label": KINDS.get(kind, ""),
        "reason": reason,
        "reason_label": reason_label(reason),
        "entries": [],
        "error": "",
        "next_url": "",
    }
    if kind not in KINDS:
        context["error"] = f"'{kind}' is not a kind of left-out text: choose one of {', '.join(KINDS)}."
        return context
    after = _after(params)
    if params.get("after") and after is None:
        context["error"] = f"'{params['after']}' is not a text number to continue after."
        return context
    if kind == "filtered":
        rows = Candidate.objects.filter(run=run, status=Candidate.Status.FILTERED, filter_reason=reason)
    elif kind == "held_back":
        rows = Candidate.objects.filter(
            run=run,
            status=Candidate.Status.PASSED,
            held_back=True,
            quality_results__check_name=reason,
            quality_results__flagged=True,
        )
    elif kind == "discarded":
        rows = DiscardedText.objects.filter(run=run, reason=reason)
    else:
        rows = TeacherCall.objects.filter(run=run, status=TeacherCall.Status.FAILED, reason=reason)
    if after is not None:
        rows = rows.filter(pk__gt=after)
    page = list(rows.order_by("pk")[: PAGE_SIZE + 1])
    if len(page) > PAGE_SIZE:
        page = page[:PAGE_SIZE]
        context["next_url"] = _texts_url(run, kind, reason) + f"&after={page[-1].pk}"
    if kind in ("filtered", "held_back"):
        results = {
            r.candidate_id: r
            for r in QualityResult.objects.filter(candidate__in=[c.pk for c in page], check_name=reason)
        }
        originals = _originals([r.evidence.get("duplicate_of") for r in results.values()])
        for candidate in page:
            result = results.get(candidate.pk)
            evidence = result.evidence if result else {}
            ref = evidence.get("duplicate_of") if isinstance(evidence.get("duplicate_of"), dict) else None
            context["entries"].append(
                {
                    "id": candidate.pk,
                    "candidate": candidate,
                    "message": result.reason if result else "",
                    "score": result.score if result else None,
                    "evidence": evidence,
                    "duplicate_of": ref,
                    "original": originals.get((ref.get("kind"), ref.get("id"))) if ref else None,
                }
            )
    elif kind == "discarded":
        context["entries"] = [{"id": d.pk, "text": d.text, "evidence": d.evidence} for d in page]
    else:
        context["entries"] = [
            {
                "id": call.pk,
                "call": call,
                "message": call.message,
                "text": call.response_text,
                "asked": (
                    call.request[-1].get("content", "")
                    if call.request and isinstance(call.request[-1], dict)
                    else ""
                ),
            }
            for call in page
        ]
    return context


def relaunch_initial(*, run: GenerationRun) -> dict[str, Any]:
    """The launch form's initial values that repeat this run's settings (its technique's options too)."""
    initial: dict[str, Any] = {
        "teacher": run.teacher_id,
        "technique": run.technique,
        "domains": list(run.domains.values_list("pk", flat=True)),
        "fill_gaps": bool(run.options.get("filled_gaps")),
        "requested_count": run.requested_count,
        "sample_percent": round(run.sample_rate * 100),
        "use_batch_api": run.use_batch_api,
    }
    technique = TECHNIQUES.get(run.technique)
    if technique is not None:
        initial |= technique.Options.form_initial(run.options)
    return initial
