"""What a reviewer's own pages read: their decisions (My reviews), one decision to revise, their
discussions with the senior physicians, and their figures (which the data lead sees per reviewer)."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, QuerySet

from review.models import Adjudication, Assignment, Decision, Discussion, Preference, RejectReason
from review.selectors.reviewing import current_version

# How many weeks of a reviewer's trend the figures show.
TREND_WEEKS = 8


@dataclass(frozen=True)
class DecisionFilters:
    """My reviews' filters, as the page's form parsed them (None or "": no filter)."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    verdict: str = ""
    domain: str = ""  # a domain's slug
    technique: str = ""
    flagged: str = ""  # "gate": flagged by the quality gate; "discussed": asked the seniors about it


def my_decisions(*, reviewer, filters: DecisionFilters | None = None) -> QuerySet[Decision]:
    """The reviewer's standing decisions, newest first (revised ones show as their latest decision)."""
    filters = filters or DecisionFilters()
    decisions = Decision.objects.filter(reviewer=reviewer).select_related(
        "item__candidate__domain", "supersedes"
    )
    if filters.date_from:
        decisions = decisions.filter(created_at__date__gte=filters.date_from)
    if filters.date_to:
        decisions = decisions.filter(created_at__date__lte=filters.date_to)
    if filters.verdict:
        decisions = decisions.filter(verdict=filters.verdict)
    if filters.domain:
        decisions = decisions.filter(item__candidate__domain__slug=filters.domain)
    if filters.technique:
        decisions = decisions.filter(item__candidate__technique=filters.technique)
    if filters.flagged == "gate":
        decisions = decisions.filter(item__candidate__held_back=True)
    elif filters.flagged == "discussed":
        asked = Discussion.objects.filter(assignment=OuterRef("assignment"))
        decisions = decisions.filter(Exists(asked))
    return decisions.order_by("-created_at", "-pk")


def decision_detail(decision: Decision, *, refusal: str) -> dict:
    """One of the reviewer's decisions: the text they were shown, their verdict, their earlier
    verdicts on the item, and whether (else why not) they may revise it."""
    item = decision.item
    candidate = item.candidate
    history = list(
        Decision.history.filter(assignment_id=decision.assignment_id)
        .exclude(pk=decision.pk)
        .select_related("revision")
        .order_by("-created_at", "-pk")
    )
    responses = []
    if candidate.is_pair:
        responses = [
            {"value": Preference.OUTPUT, "label": "The judge's preferred response", "text": candidate.output},
            {
                "value": Preference.REJECTED_OUTPUT,
                "label": "The judge's other response",
                "text": candidate.rejected_output,
            },
        ]
    revision = decision.revision
    edit_values = {
        "instruction": revision.instruction if revision else candidate.instruction,
        "input": revision.input if revision else candidate.input,
        "output": revision.output if revision else candidate.output,
    }
    labels = dict(RejectReason.choices)
    return {
        "decision": decision,
        "item": item,
        "candidate": candidate,
        "responses": responses,
        "reason_labels": [labels.get(code, code) for code in decision.reasons],
        "history": history,
        "refusal": refusal,
        "edit_values": edit_values,
        "reject_reasons": RejectReason.choices,
        "discussions": list(Discussion.objects.filter(assignment_id=decision.assignment_id)),
        "form_data": {},
    }


def my_discussions(*, reviewer) -> dict:
    """The reviewer's questions to the senior physicians, newest first, with the answers."""
    discussions = list(
        Discussion.objects.filter(reviewer=reviewer)
        .select_related("item__candidate", "assignment", "answered_by")
        .order_by("-created_at", "-pk")[:200]
    )
    return {
        "discussions": discussions,
        "waiting_for_me": sum(
            1 for d in discussions if d.answered_at and d.assignment.status == Assignment.Status.DISCUSSING
        ),
    }


def answered_waiting(*, reviewer) -> int:
    """How many answered questions wait for the reviewer to decide their item (the review page says so)."""
    return Discussion.objects.filter(
        reviewer=reviewer, answered_at__isnull=False, assignment__status=Assignment.Status.DISCUSSING
    ).count()


def open_discussions(*, senior, limit: int = 200) -> dict:
    """The senior physicians' discussion list: open questions oldest first, each with the item's text
    (what every reviewer is shown; never another reviewer's verdict), and the latest answered ones."""
    waiting = list(
        Discussion.objects.filter(answered_at__isnull=True)
        .select_related("item__candidate__domain", "item__final_revision", "reviewer")
        .order_by("created_at", "pk")[:limit]
    )
    for discussion in waiting:
        _, instruction, task_input, output = current_version(discussion.item)
        discussion.text = {"instruction": instruction, "input": task_input, "output": output}
    answered = list(
        Discussion.objects.filter(answered_at__isnull=False)
        .select_related("reviewer", "answered_by")
        .order_by("-answered_at", "-pk")[:20]
    )
    return {"waiting": waiting, "answered": answered, "me": senior}


def _agrees(verdict: str, ruling: str) -> bool:
    """As the agreement report counts it: approve against reject."""
    return (verdict == "reject") == (ruling == "reject")


def _figures(rows: list[tuple]) -> dict:
    """Items, median seconds per item, and agreement with adjudication, from (verdict, seconds, ruling)."""
    seconds = [s for _, s, _ in rows if s is not None]
    ruled = [(v, r) for v, _, r in rows if r]
    matched = sum(1 for v, r in ruled if _agrees(v, r))
    return {
        "items": len(rows),
        "median_seconds": statistics.median(seconds) if seconds else None,
        "adjudicated": len(ruled),
        "matched": matched,
        "match_rate": matched / len(ruled) if ruled else None,
    }


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def reviewer_figures(*, reviewer) -> dict:
    """A reviewer's own figures: items reviewed, median time per item, how often their verdict matched
    the adjudicated outcome (the senior's latest ruling, on items that went to adjudication), overall
    and per week for the last TREND_WEEKS weeks with decisions. Standing decisions only (an undone or
    revised one counts as its latest)."""
    rulings: dict[int, str] = {}
    for item_id, verdict in (
        Adjudication.objects.filter(item__decisions__reviewer=reviewer)
        .order_by("item_id", "created_at", "pk")
        .values_list("item_id", "verdict")
    ):
        rulings[item_id] = verdict  # the latest ruling wins
    rows = list(
        Decision.objects.filter(reviewer=reviewer).values_list(
            "item_id", "verdict", "seconds_spent", "created_at"
        )
    )
    weekly: dict[dt.date, list[tuple]] = defaultdict(list)
    for item_id, verdict, seconds, created in rows:
        weekly[_monday(created.date())].append((verdict, seconds, rulings.get(item_id, "")))
    trend = [{"week": week, **_figures(weekly[week])} for week in sorted(weekly, reverse=True)[:TREND_WEEKS]]
    return {
        "reviewer": reviewer,
        "overall": _figures([(v, s, rulings.get(i, "")) for i, v, s, _ in rows]),
        "trend": list(reversed(trend)),  # oldest first, as a trend reads
        "skipped": Assignment.objects.filter(reviewer=reviewer, status=Assignment.Status.SKIPPED).count(),
    }


def all_reviewer_figures() -> dict:
    """The data lead's view: the same figures for every reviewer who made a decision, by name."""
    reviewers = (
        get_user_model()
        .objects.filter(pk__in=Decision.objects.values("reviewer_id").distinct())
        .order_by("username")
    )
    return {"rows": [reviewer_figures(reviewer=r) for r in reviewers]}
