"""What the record browser reads: every reviewed or released record, filtered, a keyset page at a time,
and one record's whole history (candidate, versions, decisions, adjudication, gate, exports)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse

from review.agreement_report import domain_alphas
from review.diff import FieldDiff, edit_diff
from review.exports.records import export_holds, export_selection
from review.exports.settings import ExportSettings, ExportSettingsError
from review.models import (
    Adjudication,
    Batch,
    Decision,
    Export,
    ItemRevision,
    Preference,
    RejectReason,
    ReviewItem,
    Verdict,
)
from synth.models import Candidate, Domain, GenerationRun, QualityResult, technique_choices
from synth.quality.checks import ordered_checks

# The statuses a record can have in the browser: an item's review status, or released unreviewed.
RELEASED = "released"
STATUSES = {**dict(ReviewItem.Status.choices), RELEASED: "Released without review"}
YES_NO = {"yes": True, "no": False}
# The filters the browser takes, in the order the form shows them; records_url() accepts these names.
# reviewer_a/verdict_a and reviewer_b/verdict_b select one cell of the dashboard's confusion matrix: the
# items on which two reviewers' standing decisions have those verdicts (review.agreement_report).
FILTERS = (
    "export",
    "run",
    "batch",
    "domain",
    "technique",
    "status",
    "verdict",
    "reviewer",
    "reviewer_a",
    "verdict_a",
    "reviewer_b",
    "verdict_b",
    "edited",
    "flagged",
    "disagreement",
    "adjudicated",
)
REASON_LABELS = dict(RejectReason.choices)
PREFERENCE_LABELS = dict(Preference.choices)
PAIR_LABELS = {
    "reviewer_a": "Reviewer A",
    "verdict_a": "Reviewer A's verdict",
    "reviewer_b": "Reviewer B",
    "verdict_b": "Reviewer B's verdict",
}


def records_url(**filters: Any) -> str:
    """The record browser's address with these filters (True/False become yes/no; None is left out),
    for other pages to link to a slice of records: `records_url(batch=3, verdict="reject")`."""
    unknown = set(filters) - set(FILTERS) - {"after"}
    if unknown:
        raise TypeError(f"The record browser has no filter named {', '.join(sorted(unknown))}")
    query = {
        name: ("yes" if value else "no") if isinstance(value, bool) else value
        for name, value in filters.items()
        if value is not None and value != ""
    }
    url = reverse("review:records")
    return f"{url}?{urlencode(query)}" if query else url


@dataclass
class RecordFilters:
    """The browser's filters as parsed from the query string, with a message for each bad value."""

    values: dict[str, Any] = field(default_factory=dict)  # parsed, by filter name
    raw: dict[str, str] = field(default_factory=dict)  # as given, for the form
    errors: list[str] = field(default_factory=list)
    after: int | None = None


def _export_settings(export: Export) -> tuple[ExportSettings, dt.datetime] | None:
    """A ready export's settings and snapshot time, as it was built with them (None if it is not ready)."""
    if export.status != Export.Status.READY:
        return None
    snapshot = export.manifest.get("snapshot_at")
    try:
        parsed = ExportSettings.load({**export.filters, "kind": export.kind, "format": export.format})
        at = dt.datetime.fromisoformat(snapshot) if snapshot else export.finished_at
    except (ExportSettingsError, ValueError):
        return None
    return (parsed, at) if at else None


def _positive_int(value: str) -> int | None:
    return int(value) if value.isdigit() and 0 < int(value) < 2**63 else None


def parse_filters(params: Mapping[str, str]) -> RecordFilters:
    """Read the filters; a value that cannot be used says why (the page shows it, never a 500)."""
    parsed = RecordFilters()
    for name in FILTERS:
        value = (params.get(name) or "").strip()
        if not value:
            continue
        parsed.raw[name] = value
        if name == "export":
            number = _positive_int(value)
            export = Export.objects.filter(pk=number).first() if number else None
            if export is None:
                parsed.errors.append(f"Export: there is no export '{value}'.")
            elif _export_settings(export) is None:
                parsed.errors.append(
                    f"Export: export {number} is {export.get_status_display().lower()}, not ready: "
                    "only a finished export has records to show."
                )
            else:
                parsed.values[name] = export
        elif name in ("run", "batch"):
            number = _positive_int(value)
            model = GenerationRun if name == "run" else Batch
            if number is None:
                parsed.errors.append(f"{name.title()}: '{value}' is not a {name} number.")
            elif not model.objects.filter(pk=number).exists():
                parsed.errors.append(f"{name.title()}: there is no {name} {number}.")
            else:
                parsed.values[name] = number
        elif name == "domain":
            domain = Domain.objects.filter(slug=value).first()
            if domain is None:
                known = ", ".join(Domain.objects.values_list("slug", flat=True))
                parsed.errors.append(f"Domain: there is no domain '{value}' (the domains are: {known}).")
            else:
                parsed.values[name] = domain
        elif name == "technique":
            techniques = dict(technique_choices())
            if value not in techniques:
                parsed.errors.append(
                    f"Technique: '{value}' is not a technique (choose one of {', '.join(techniques)})."
                )
            else:
                parsed.values[name] = value
        elif name == "status":
            if value not in STATUSES:
                parsed.errors.append(
                    f"Status: '{value}' is not a status (choose one of {', '.join(STATUSES)})."
                )
            else:
                parsed.values[name] = value
        elif name == "verdict":
            if value not in Verdict.values:
                parsed.errors.append(
                    f"Final verdict: '{value}' is not a verdict (choose one of {', '.join(Verdict.values)})."
                )
            else:
                parsed.values[name] = value
        elif name in ("reviewer", "reviewer_a", "reviewer_b"):
            user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: value}).first()
            if user is None:
                parsed.errors.append(
                    f"{PAIR_LABELS.get(name, 'Reviewer')}: there is no user called '{value}'."
                )
            else:
                parsed.values[name] = user
        elif name in ("verdict_a", "verdict_b"):
            if value not in Verdict.values:
                parsed.errors.append(
                    f"{PAIR_LABELS[name]}: '{value}' is not a verdict (choose one of {', '.join(Verdict.values)})."
                )
            else:
                parsed.values[name] = value
        elif value.lower() in YES_NO:
            parsed.values[name] = YES_NO[value.lower()]
        else:
            parsed.errors.append(f"{name.title()}: give yes or no, not '{value}'.")
    parsed.errors += _pair_errors(parsed.raw)
    after = (params.get("after") or "").strip()
    if after:
        parsed.after = _positive_int(after)
        if parsed.after is None:
            parsed.errors.append(f"Page: '{after}' is not a record number to continue after.")
    return parsed


def _pair_errors(raw: Mapping[str, str]) -> list[str]:
    """What is missing from a pair of reviewers' verdicts: a verdict needs its reviewer, reviewer B needs
    reviewer A (B's verdicts are compared with A's), and A and B are two people."""
    errors = []
    for side in ("a", "b"):
        if f"verdict_{side}" in raw and f"reviewer_{side}" not in raw:
            errors.append(
                f"{PAIR_LABELS[f'verdict_{side}']}: give reviewer {side.upper()} too (whose verdict it is)."
            )
    if "reviewer_b" in raw and "reviewer_a" not in raw:
        errors.append("Reviewer B: give reviewer A too (reviewer B's verdicts are compared with A's).")
    if "reviewer_a" in raw and raw.get("reviewer_a") == raw.get("reviewer_b"):
        errors.append(f"Reviewer B: '{raw['reviewer_b']}' is reviewer A too; choose two different reviewers.")
    return errors


def _released() -> Q:
    return Q(
        review_item__isnull=True,
        run__batch__released_at__isnull=False,
        status=Candidate.Status.PASSED,
        held_back=False,
    )


def browsable_records() -> QuerySet[Candidate]:
    """Every record the browser lists: candidates sampled for review, and released batches' unreviewed
    records. A record is named by its candidate's id."""
    return Candidate.objects.filter(Q(review_item__isnull=False) | _released())


def _disputed() -> Q:
    # An item reviewers disagreed on went to adjudication: it waits there, or it was settled there.
    return Q(review_item__status=ReviewItem.Status.NEEDS_ADJUDICATION) | Q(
        Exists(Adjudication.objects.filter(item__candidate_id=OuterRef("pk")))
    )


def _standing_decision(*, reviewer, verdict: str | None) -> Q:
    # Decision.objects holds standing decisions only (not undone, not revised since), as the agreement
    # report counts them; a reviewer has at most one standing decision per item.
    decisions = Decision.objects.filter(item__candidate_id=OuterRef("pk"), reviewer=reviewer)
    if verdict:
        decisions = decisions.filter(verdict=verdict)
    return Q(Exists(decisions))


def pair_description(filters: RecordFilters) -> str:
    """The reviewer-pair filter in words ("" without one)."""
    values = filters.values
    if filters.errors or "reviewer_a" not in values:
        return ""

    def said(side: str) -> str:
        name = values[f"reviewer_{side}"].get_username()
        verdict = values.get(f"verdict_{side}")
        return f"{name} gave {Verdict(verdict).label.lower()}" if verdict else f"{name} reviewed it"

    both = f"{said('a')} and {said('b')}" if "reviewer_b" in values else said("a")
    return (
        f"Records on which {both}: standing decisions only (a decision undone or revised since does not "
        "count), as the dashboard's confusion matrix counts them."
    )


def filtered_records(filters: RecordFilters) -> QuerySet[Candidate]:
    """The records the filters select (unordered). Subqueries, not joins, so no record repeats."""
    records = browsable_records()
    values = filters.values
    if "export" in values:
        parsed, snapshot = _export_settings(values["export"])
        items, released = export_selection(parsed, snapshot=snapshot, domain_alphas=domain_alphas)
        selected = Q(review_item__in=items.values("pk"))
        if released is not None:
            selected |= Q(pk__in=released.values("pk"))
        records = records.filter(selected)
    if "run" in values:
        records = records.filter(run_id=values["run"])
    if "batch" in values:
        records = records.filter(run__batch__id=values["batch"])
    if "domain" in values:
        records = records.filter(domain=values["domain"])
    if "technique" in values:
        records = records.filter(technique=values["technique"])
    if "status" in values:
        status = values["status"]
        records = records.filter(_released() if status == RELEASED else Q(review_item__status=status))
    if "verdict" in values:
        records = records.filter(review_item__final_verdict=values["verdict"])
    if "reviewer" in values:
        records = records.filter(
            Exists(Decision.objects.filter(item__candidate_id=OuterRef("pk"), reviewer=values["reviewer"]))
        )
    for side in ("a", "b"):
        if f"reviewer_{side}" in values:
            records = records.filter(
                _standing_decision(reviewer=values[f"reviewer_{side}"], verdict=values.get(f"verdict_{side}"))
            )
    yes_no = {
        "edited": Q(Exists(ItemRevision.objects.filter(item__candidate_id=OuterRef("pk")))),
        "flagged": Q(Exists(QualityResult.objects.filter(candidate_id=OuterRef("pk"), flagged=True))),
        "disagreement": _disputed(),
        "adjudicated": Q(Exists(Adjudication.objects.filter(item__candidate_id=OuterRef("pk")))),
    }
    for name, condition in yes_no.items():
        if name in values:
            records = records.filter(condition if values[name] else ~condition)
    return records


@dataclass
class RecordRow:
    candidate: Candidate
    item: ReviewItem | None
    reviewers: list[str]
    edited: bool
    flagged: bool
    adjudicated: bool

    @property
    def status(self) -> str:
        return self.item.get_status_display() if self.item else STATUSES[RELEASED]


def _rows(candidates: list[Candidate]) -> list[RecordRow]:
    """The page's rows, with what the table shows of each, in a few queries for the whole page."""
    ids = [c.pk for c in candidates]
    items = {i.candidate_id: i for i in ReviewItem.objects.filter(candidate_id__in=ids)}
    item_ids = [i.pk for i in items.values()]
    reviewers: dict[int, list[str]] = {}
    for item_id, username in (
        Decision.objects.filter(item_id__in=item_ids)
        .order_by("created_at", "pk")
        .values_list("item_id", "reviewer__username")
    ):
        names = reviewers.setdefault(item_id, [])
        if username not in names:
            names.append(username)
    edited = set(ItemRevision.objects.filter(item_id__in=item_ids).values_list("item_id", flat=True))
    adjudicated = set(Adjudication.objects.filter(item_id__in=item_ids).values_list("item_id", flat=True))
    flagged = set(
        QualityResult.objects.filter(candidate_id__in=ids, flagged=True).values_list(
            "candidate_id", flat=True
        )
    )
    rows = []
    for candidate in candidates:
        item = items.get(candidate.pk)
        item_id = item.pk if item else None
        rows.append(
            RecordRow(
                candidate=candidate,
                item=item,
                reviewers=reviewers.get(item_id, []),
                edited=item_id in edited,
                flagged=candidate.pk in flagged,
                adjudicated=item_id in adjudicated,
            )
        )
    return rows


def record_page(*, params: Mapping[str, str], page_size: int | None = None) -> dict[str, Any]:
    """The browser's context: the filters (and what is wrong with them), one page of records, newest
    first, and the cursor of the next page. Keyset pagination (`after`: the last id shown), so a page
    costs the same however deep it is."""
    size = page_size or django_settings.RECORD_BROWSER_PAGE_SIZE
    filters = parse_filters(params)
    context: dict[str, Any] = {
        "filters": filters,
        "choices": {
            "domains": Domain.objects.values_list("slug", "name"),
            "techniques": technique_choices(),
            "statuses": STATUSES.items(),
            "verdicts": Verdict.choices,
        },
        "yes_no_filters": [
            (name, label, filters.raw.get(name, "").lower())
            for name, label in (
                ("edited", "Edited by a physician"),
                ("flagged", "Flagged by the gate"),
                ("disagreement", "Reviewers disagreed"),
                ("adjudicated", "Adjudicated"),
            )
        ],
        "rows": [],
        "pair_description": pair_description(filters),
        "export": filters.values.get("export"),
        "export_withheld": sum((filters.values["export"].manifest.get("withheld") or {}).values())
        if "export" in filters.values
        else 0,
        "next_url": "",
        "first_url": "",
    }
    if filters.errors:
        return context
    records = filtered_records(filters)
    if filters.after is not None:
        records = records.filter(pk__lt=filters.after)
        context["first_url"] = records_url(**filters.raw)
    page = list(records.select_related("run", "domain", "run__batch").order_by("-pk")[: size + 1])
    if len(page) > size:
        page = page[:size]
        context["next_url"] = records_url(**filters.raw, after=page[-1].pk)
    context["rows"] = _rows(page)
    return context


@dataclass
class Version:
    number: int
    text: dict[str, str]
    revision: ItemRevision | None = None
    changes: list[FieldDiff] = field(default_factory=list)  # against the version it was based on


def _text(obj) -> dict[str, str]:
    return {"instruction": obj.instruction, "input": obj.input, "output": obj.output}


def _versions(candidate: Candidate, item: ReviewItem | None) -> list[Version]:
    versions = [Version(0, _text(candidate))]
    if item is None:
        return versions
    by_number = {0: versions[0]}
    for revision in item.revisions.select_related("author").order_by("number"):
        base = by_number.get(revision.based_on, versions[0])
        version = Version(
            revision.number,
            _text(revision),
            revision,
            edit_diff(before=base.text, after=_text(revision)),
        )
        by_number[revision.number] = version
        versions.append(version)
    return versions


def _decision_rows(item: ReviewItem) -> list[dict[str, Any]]:
    rows = []
    for decision in (
        Decision.history.filter(item=item).select_related("reviewer", "revision").order_by("created_at", "pk")
    ):
        rows.append(
            {
                "reviewer": decision.reviewer.get_username(),
                "at": decision.created_at,
                "verdict": decision.get_verdict_display(),
                "verdict_code": decision.verdict,
                "preference": PREFERENCE_LABELS.get(decision.preference, ""),
                "reasons": [REASON_LABELS.get(code, code) for code in decision.reasons],
                "comment": decision.comment,
                "seconds": decision.seconds_spent,
                "version": decision.revision.number if decision.revision else None,
                "extra": decision.extra,
                "undone_at": decision.undone_at,
            }
        )
    return rows


def _check_labels() -> dict[str, str]:
    return {c.name: c.flag_title or c.funnel_label or c.name.replace("_", " ") for c in ordered_checks()}


def _exports_holding(candidate: Candidate, limit: int = 100) -> dict[str, Any]:
    """Which finished exports hold the record: each export's filters and last gate applied to it alone
    (exports keep no list of their records), over the latest `limit` exports."""
    holding = []
    alphas: dict | None = None

    def cached_alphas() -> dict:
        nonlocal alphas
        if alphas is None:
            alphas = domain_alphas()
        return alphas

    exports = Export.objects.filter(status=Export.Status.READY).order_by("-pk")[:limit]
    for export in exports:
        built = _export_settings(export)
        if built is None:
            continue
        parsed, snapshot = built
        if export_holds(parsed, snapshot=snapshot, candidate_id=candidate.pk, domain_alphas=cached_alphas):
            holding.append(export)
    return {"exports": holding, "exports_checked": len(exports), "exports_limit": limit}


def record_history(*, candidate_id: int) -> dict[str, Any]:
    """One record's whole history, for its page: where it came from, every version with its changes,
    every decision (undone ones marked), the adjudication, the gate's results with evidence, and the
    exports that hold it."""
    candidate = get_object_or_404(
        Candidate.objects.select_related("run", "run__teacher", "domain", "run__batch"), pk=candidate_id
    )
    item = ReviewItem.objects.select_related("batch", "final_revision").filter(candidate=candidate).first()
    labels = _check_labels()
    order = {c.name: c.order for c in ordered_checks()}
    results = sorted(
        QualityResult.objects.filter(candidate=candidate), key=lambda r: (order.get(r.check_name, 0), r.pk)
    )
    batch = getattr(candidate.run, "batch", None)
    released = item is None and batch is not None and batch.released_at is not None
    return {
        "candidate": candidate,
        "item": item,
        "batch": batch,
        "released": released and candidate.status == Candidate.Status.PASSED and not candidate.held_back,
        "versions": _versions(candidate, item),
        "decisions": _decision_rows(item) if item else [],
        "adjudications": (
            item.adjudications.select_related("adjudicator", "revision").order_by("created_at")
            if item
            else []
        ),
        "quality": [{"result": r, "label": labels.get(r.check_name, r.check_name)} for r in results],
        **_exports_holding(candidate),
    }
