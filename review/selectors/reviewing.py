"""What a reviewer's pages read: the text shown, their draft, progress, what is left, the page's context.

Reads only: claiming, deciding and saving drafts are review.queue's services (which read these too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q, Window
from django.utils import timezone

from review.diff import FieldDiff, edit_diff
from review.models import Assignment, Decision, Preference, RejectReason, ReviewDraft, ReviewItem
from synth.models import SourceDocument


def live_assignments(now) -> Q:
    """Assignments that count against an item's required reviews: submitted, waiting for a discussion's
    answer, or claimed and not expired. A skipped one does not: the item goes to someone else."""
    return Q(status__in=(Assignment.Status.SUBMITTED, Assignment.Status.DISCUSSING)) | Q(
        status=Assignment.Status.ACTIVE, lease_expires_at__gt=now
    )


# live_assignments() written out, for the statements of the review loop's hot path that are written
# in SQL (tests/review/test_queue.py checks them against each other): `{item}` is the outer query's
# item table, the values are bound as parameters (live_params()).
LIVE_ASSIGNMENTS_SQL = """
    FROM {assignment} a WHERE a.item_id = {item}.id
    AND (a.status IN (%(submitted)s, %(discussing)s) OR (a.status = %(active)s AND a.lease_expires_at > %(now)s))"""
TABLES = {"item": ReviewItem._meta.db_table, "assignment": Assignment._meta.db_table}


def live_params(now) -> dict:
    return {
        "submitted": Assignment.Status.SUBMITTED.value,
        "discussing": Assignment.Status.DISCUSSING.value,
        "active": Assignment.Status.ACTIVE.value,
        "now": connection.ops.adapt_datetimefield_value(now),
    }


def current_assignment(reviewer) -> Assignment | None:
    """The reviewer's claimed, undecided, unexpired item, if any: reopening the page resumes it."""
    return (
        Assignment.objects.filter(
            reviewer=reviewer, status=Assignment.Status.ACTIVE, lease_expires_at__gt=timezone.now()
        )
        .select_related("item__candidate__domain")
        .order_by("claimed_at", "pk")
        .first()
    )


def held_draft(assignment: Assignment) -> ReviewDraft | None:
    """The reviewer's saved draft on a held item (read with the assignment by claim_next)."""
    try:
        return assignment.draft
    except ReviewDraft.DoesNotExist:
        return None


def current_version(item: ReviewItem) -> tuple[int, str, str, str]:
    """(number, instruction, input, output) of the text every reviewer of the item is shown.

    Review is blind: until the item is settled this is the candidate (version 0), whatever edits
    reviewers have proposed meanwhile (each is its author's own proposal, seen only by an adjudicator);
    once settled, the settled text. Unsettled revisions are never read here.
    """
    if item.status == ReviewItem.Status.DECIDED and item.final_revision_id is not None:
        settled = item.final_revision
        return settled.number, settled.instruction, settled.input, settled.output
    candidate = item.candidate
    return 0, candidate.instruction, candidate.input, candidate.output


def original_output(item: ReviewItem, preference: str = "", *, current_output: str | None = None) -> str:
    """The response an edit starts from: the chosen one of a pair, otherwise the current version's.

    A caller that has just read the current version passes its output, saving a query.
    """
    if preference == Preference.REJECTED_OUTPUT:
        return item.candidate.rejected_output
    return current_version(item)[3] if current_output is None else current_output


def progress_since(now) -> tuple:
    """(the start of today, the oldest moment a decision can still be undone)."""
    start_of_day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return start_of_day, now - timedelta(seconds=settings.REVIEW_UNDO_SECONDS)


def _counted(reviewer):
    # A revision of an older decision is neither a new item reviewed nor something to undo.
    return Decision.objects.filter(reviewer=reviewer, supersedes__isnull=True)


def progress(reviewer) -> tuple[int, Decision | None]:
    """(reviewed today, the decision an undo would take back) in one query: the progress line and
    the undo bar are on every page the reviewer sees."""
    start_of_day, undo_since = progress_since(timezone.now())
    latest = (
        _counted(reviewer)
        .filter(created_at__gte=min(start_of_day, undo_since))
        .annotate(today=Window(Count("pk", filter=Q(created_at__gte=start_of_day))))
        .order_by("-created_at", "-pk")
        .first()
    )
    if latest is None:
        return 0, None
    return latest.today, latest if latest.created_at >= undo_since else None


def progress_read_with(assignment: Assignment) -> tuple[int, Decision | None]:
    """What progress() says, from an assignment read as shown (review.queue.claims reads the two with it)."""
    row = assignment.undoable_row
    undoable = Decision(verdict=row["verdict"], item_id=row["item_id"]) if row else None
    return assignment.reviewed_today, undoable


@dataclass(frozen=True)
class LeftInQueue:
    """What is left to review, as one reviewer sees it."""

    yours: int  # items this reviewer holds undecided or can still claim
    with_others: int  # other pending items: held by, or waiting for, other reviewers


def pending_count(*, fresh: bool = False) -> int:
    """Every pending item, counted at most every few seconds per process (unless `fresh`): one count
    on the pending items' index, shared by all reviewers (with a million of them it is not free)."""
    key = "review:pending_count"
    count = None if fresh else cache.get(key)
    if count is None:
        count = ReviewItem.objects.filter(status=ReviewItem.Status.PENDING).count()
        cache.set(key, count, timeout=settings.REVIEW_PROGRESS_CACHE_SECONDS)
    return count


def left_in_queue(reviewer, *, nothing_claimable: bool = False) -> LeftInQueue:
    """What is left for `reviewer`, kept a few seconds per reviewer. `nothing_claimable`: the caller
    just failed to claim an item, so none is theirs; counted afresh so the page does not contradict
    itself.

    A pending item is theirs unless other reviewers fill its slots or they have had it (decided,
    skipped, asking about it) without holding it now. Only two kinds of item can be either: those
    whose claim hint says they are full for now (`available_at` in the future, kept under the item's
    lock whenever a slot is taken or turns into a decision or a question), and those the reviewer has
    an assignment on. Both are few however long the queue is, so those are counted exactly and
    subtracted from the pending count, instead of judging every pending item (seconds at a million)."""
    key = f"review:left_in_queue:{reviewer.pk}"
    left = None if nothing_claimable else cache.get(key)
    if left is None:
        total = pending_count(fresh=nothing_claimable)
        yours = 0 if nothing_claimable else max(0, total - _not_yours(reviewer))
        left = LeftInQueue(yours=yours, with_others=total - yours)
        cache.set(key, left, timeout=settings.REVIEW_PROGRESS_CACHE_SECONDS)
    return left


# The pending items that are not a reviewer's to review: full for now (the claim hint in the future)
# and not held by them, or had by them (decided, skipped, asked about) and not held. Only those two
# kinds are looked at, each through its index; the rule is the claim's (a free slot, no assignment of
# theirs). Written out because it runs on nearly every page a reviewer sees (each one's count expires
# between two of their decisions): through the ORM, with the suspects as an IN list, it cost about
# three times the statement's own time in Python at a million items.
_NOT_YOURS = """
SELECT COUNT(*) FROM {item} WHERE id IN (
    SELECT id FROM {item} WHERE status = %(pending)s AND available_at > %(now)s
    UNION
    SELECT m.item_id FROM {assignment} m JOIN {item} p ON p.id = m.item_id
    WHERE m.reviewer_id = %(reviewer)s AND p.status = %(pending)s
) AND NOT (
    EXISTS (SELECT 1 FROM {assignment} m WHERE m.item_id = {item}.id AND m.reviewer_id = %(reviewer)s
            AND m.status = %(active)s AND m.lease_expires_at > %(now)s)
    OR (NOT EXISTS (SELECT 1 FROM {assignment} m WHERE m.item_id = {item}.id AND m.reviewer_id = %(reviewer)s)
        AND (SELECT COUNT(*) {live}) < required_reviews)
)"""
# Only the models' own table names are formatted in; every value is bound as a parameter.
_NOT_YOURS = _NOT_YOURS.format(live=LIVE_ASSIGNMENTS_SQL.format(**TABLES), **TABLES)


def _not_yours(reviewer) -> int:
    """How many pending items are not `reviewer`'s to review (_NOT_YOURS)."""
    params = {
        **live_params(timezone.now()),
        "pending": ReviewItem.Status.PENDING.value,
        "reviewer": reviewer.pk,
    }
    with connection.cursor() as cursor:
        cursor.execute(_NOT_YOURS, params)
        return cursor.fetchone()[0]


def _draft_data(draft: ReviewDraft) -> dict:
    return {
        "instruction": draft.instruction,
        "input": draft.input,
        "output": draft.output,
        "reasons": draft.reasons,
        "comment": draft.comment,
        "preference": draft.preference,
    }


def _plain(data) -> dict:
    """Posted fields (a QueryDict) or a restored draft, as one plain dict with `reasons` a list."""
    if data is None:
        return {}
    if hasattr(data, "getlist"):
        return {**{key: data.get(key) for key in data}, "reasons": data.getlist("reasons")}
    return dict(data)


def _responses(item: ReviewItem) -> list[dict]:
    """A pair's two responses as A and B, in the order drawn for this reviewer at claim time."""
    candidate = item.candidate
    shown = [(Preference.OUTPUT, candidate.output), (Preference.REJECTED_OUTPUT, candidate.rejected_output)]
    if item.assignment.pair_swapped:
        shown.reverse()
    return [
        {"label": label, "value": value, "text": text}
        for label, (value, text) in zip("AB", shown, strict=True)
    ]


def source_document(candidate) -> dict | None:
    """The document a candidate was written from (Backtranslation, Summarization), as its provenance
    names it: title and text, or text None when the document is no longer stored."""
    named = (candidate.provenance or {}).get("document")
    if not isinstance(named, dict) or "id" not in named:
        return None
    stored = SourceDocument.objects.filter(pk=named["id"]).only("title", "text").first()
    if stored is None:
        return {"title": named.get("title", ""), "text": None}
    return {"title": stored.title, "text": stored.text}


def review_workspace(
    *,
    reviewer,
    item: ReviewItem | None,
    error: str = "",
    notice: str = "",
    form_data=None,
    open_panel: str = "",
) -> dict:
    """The review page's context around `item`, the one in front of the reviewer (None: nothing left).

    `form_data`: what the reviewer just posted (a refused decision keeps it); otherwise their saved
    draft is put back, with its panel open.
    """
    # An item shown comes from review.queue.claims, its assignment read with the progress line.
    today, undoable = progress(reviewer) if item is None else progress_read_with(item.assignment)
    context = {
        "reviewed_today": today,
        "undoable": undoable,
        "item": item,
        "error": error,
        "notice": notice,
        "reject_reasons": RejectReason.choices,
        "left": left_in_queue(reviewer, nothing_claimable=item is None),
        "draft_restored": False,
    }
    if item is None:
        context["form_data"] = {}
        return context
    assignment = item.assignment
    number, instruction, task_input, output = current_version(item)
    version = {"number": number, "instruction": instruction, "input": task_input, "output": output}
    if form_data is None:
        draft = held_draft(assignment)
        if draft is not None:
            form_data, open_panel = _draft_data(draft), draft.panel
            context["draft_restored"] = True
    form_data = _plain(form_data)
    preference = form_data.get("preference", "")
    if item.candidate.is_pair:
        context["responses"] = _responses(item)
    context["source_document"] = source_document(item.candidate)
    edit_before = {**version, "output": original_output(item, preference, current_output=output)}
    edit_values = {
        name: form_data.get(name) or edit_before[name] for name in ("instruction", "input", "output")
    }
    reasons = form_data.get("reasons", [])
    context.update(
        assignment=assignment,
        version=version,
        form_data=form_data,
        edit_values=edit_values,
        chosen_reasons=reasons,
        preference=preference,
        open_panel=open_panel,
        diff=edit_diff(before=edit_before, after=edit_values),
    )
    return context


def draft_diff(draft: ReviewDraft) -> list[FieldDiff]:
    """A saved draft's edit against the text it starts from, as the draft status shows it."""
    item = draft.assignment.item
    _, instruction, task_input, output = current_version(item)
    before = {
        "instruction": instruction,
        "input": task_input,
        "output": original_output(item, draft.preference, current_output=output),
    }
    after = {"instruction": draft.instruction, "input": draft.input, "output": draft.output}
    return edit_diff(before=before, after=after)
