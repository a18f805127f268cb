"""Decisions: a reviewer's verdict on the item they claimed, how it settles the item, and its undo.

- Nobody sees another reviewer's verdict or pending edit: each edit is its author's own proposal.
  What settles an item is review.settling's rule; differing approved texts go to adjudication.
- A late submit (lease expired) is accepted as a normal verdict if nobody else claimed the item
  meanwhile; otherwise it is kept as an extra verdict (Decision.extra) that does not settle the item,
  and the reviewer is told so. Nothing is silently dropped.
- Decisions are append-only: an undo (own last decision, within settings.REVIEW_UNDO_SECONDS) marks
  the decision undone and gives the item back to its reviewer; it never deletes anything.
- A reviewer revises an older decision of theirs with a new decision that supersedes it (both kept;
  only the new one stands) and re-settles the item, which may send it to adjudication. Allowed until a
  senior physician adjudicated the item, or, for an approved item, until an export was started after
  it was settled (it may be in that export): revision_refusal says why not.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import timedelta
from functools import cache

from auditlog.context import disable_auditlog
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from core.audit import created_entry, updated_entry, write_entries
from core.sql_rows import ModelColumns, read_row
from review.models import (
    Assignment,
    Decision,
    Export,
    Preference,
    RejectReason,
    ReviewDraft,
    ReviewItem,
    Verdict,
)
from review.queue.claims import (
    lease_duration,
    recount_hint,
    show_next,
    taken_by_someone_else,
    with_draft,
)
from review.queue.errors import NotYours, ReviewError
from review.queue.revisions import store_revision
from review.settling import decision_digest, settle
from synth.models import Candidate

PAIR_CHOICES = (Preference.OUTPUT, Preference.REJECTED_OUTPUT, Preference.TIE)


def submit_decision(
    *,
    reviewer,
    assignment_id: int,
    verdict: str,
    reasons: Iterable[str] = (),
    comment: str = "",
    instruction: str | None = None,
    task_input: str | None = None,
    output: str | None = None,
    based_on: int | None = None,
    preference: str = "",
) -> Decision:
    """Store a reviewer's verdict on the item they claimed. Submitting the same thing twice stores one."""
    reasons = sorted(set(reasons))
    comment = comment.strip()
    now = timezone.now()
    with transaction.atomic():
        # The reviewer, the assignment and its item, locked in one statement and in that order (the
        # order of `of`; show_next locks the reviewer before any item too): reviewers of the same item
        # settle it one at a time, and the reviewer's own claims wait for this decision (save_and_next).
        # The draft (if any) comes with it: no DELETE without one.
        assignment = _lock_assignment(reviewer, assignment_id)
        if assignment is None:
            raise NotYours("This item is not assigned to you. Open the review queue to get your next item.")
        item = assignment.item
        as_locked = copy.copy(item)  # the row as locked, for its audit entry when it settles
        if assignment.status == Assignment.Status.SKIPPED:
            raise ReviewError("You skipped this item: it went to another reviewer, and nothing was stored.")
        if assignment.status == Assignment.Status.DISCUSSING:
            raise ReviewError(
                "This item waits for the senior physicians' answer to your question: nothing was stored. "
                "Decide it from your discussions once they have answered."
            )
        # An active assignment has no standing decision (submitting and undoing switch the status in
        # the same transaction as the decision), so only a submitted one is looked up for a repeat.
        submitted = assignment.status == Assignment.Status.SUBMITTED
        existing = (
            Decision.objects.filter(assignment=assignment).select_related("revision").first()
            if submitted
            else None
        )
        if existing:
            if _same_decision(existing, verdict, reasons, output, preference):
                return existing  # a double click or a retried request
            raise ReviewError(
                f"You already decided on this item ({existing.get_verdict_display().lower()}); "
                "that decision stands. Undo it first if you want to change it."
            )

        preference = check_preference(item, verdict, preference)
        revision = None
        if verdict == Verdict.REJECT:
            _check_reject(reasons, comment)
        elif verdict == Verdict.EDIT:
            revision = store_revision(item, reviewer, instruction, task_input, output, based_on, preference)
        elif verdict != Verdict.ACCEPT:
            raise ReviewError("Choose accept, edit or reject.")

        late = assignment.lease_expires_at <= now
        extra = item.status != ReviewItem.Status.PENDING or (late and taken_by_someone_else(assignment))
        started = assignment.shown_at or assignment.claimed_at
        with disable_auditlog():  # its entry is written with the item's, in one INSERT (write_entries)
            decision = Decision.objects.create(
                assignment=assignment,
                item=item,
                reviewer=reviewer,
                verdict=verdict,
                preference=preference,
                reasons=reasons if verdict == Verdict.REJECT else [],
                comment=comment,
                revision=revision,
                text_digest=decision_digest(item.candidate, verdict, preference, revision),
                extra=extra,
                seconds_spent=max(0, round((now - started).total_seconds())),
            )
        audit = [created_entry(decision)]
        _submitted_and_next_shown(assignment, now)
        # Scratch work, now decided. Loaded with the locked assignment: save_draft takes the same lock
        # and refuses a submitted assignment, so no draft can appear meanwhile.
        if _has_draft(assignment):
            ReviewDraft.objects.filter(assignment=assignment).delete()
        if not extra:
            _settle(item, decision, as_locked=as_locked, audit=audit)
        write_entries(audit)
        return decision


# The decision's first statement, written out (save-and-next runs it every time; through the ORM, with
# its joins and row locks, it cost several times its own time in Python): the reviewer's assignment
# with its item, candidate and draft, locking the reviewer, the assignment and the item.
_ASSIGNMENT = ModelColumns(Assignment, "a")
_ITEM = ModelColumns(ReviewItem, "i")
_CANDIDATE = ModelColumns(Candidate, "c")
_DRAFT = ModelColumns(ReviewDraft, "r")
_LOCKED = (_ASSIGNMENT, _ITEM, _CANDIDATE, _DRAFT)
_LOCK_ASSIGNMENT = """
SELECT {columns}
FROM {assignment} a
JOIN {user} u ON u.id = a.reviewer_id
JOIN {item} i ON i.id = a.item_id
JOIN {candidate} c ON c.id = i.candidate_id
LEFT JOIN {draft} r ON r.assignment_id = a.id
WHERE a.id = %(assignment)s AND a.reviewer_id = %(reviewer)s{for_update}"""


@cache
def _lock_assignment_sql() -> str:
    """_LOCK_ASSIGNMENT for this database (SQLite has no row locks: its writes take turns). Only the
    models' table and column names are formatted in; every value is bound as a parameter."""
    return _LOCK_ASSIGNMENT.format(
        columns=", ".join(model.sql for model in _LOCKED),
        assignment=Assignment._meta.db_table,
        user=get_user_model()._meta.db_table,
        item=ReviewItem._meta.db_table,
        candidate=Candidate._meta.db_table,
        draft=ReviewDraft._meta.db_table,
        for_update="\nFOR UPDATE OF u, a, i" if connection.features.has_select_for_update_of else "",
    )


def _lock_assignment(reviewer, assignment_id) -> Assignment | None:
    """The reviewer's assignment `assignment_id` (None if it is not theirs) with its item, candidate
    and draft, the reviewer's, the assignment's and the item's rows locked."""
    with connection.cursor() as cursor:
        cursor.execute(_lock_assignment_sql(), {"assignment": assignment_id, "reviewer": reviewer.pk})
        row = cursor.fetchone()
    if row is None:
        return None
    (assignment, item, candidate, draft), _ = read_row(row, _LOCKED)
    item.candidate = candidate
    assignment.item = item
    assignment.reviewer = reviewer
    with_draft(assignment, draft)
    return assignment


def _submitted_and_next_shown(assignment: Assignment, now) -> None:
    """Mark the assignment submitted, and the item its reviewer claimed ahead shown from now: it takes
    the decided item's place in front of them (save-and-next shows it in this very response; after a
    plain submit, the page they are sent to does). One UPDATE for both rows, both the reviewer's (whose
    row lock we hold). An expired claim ahead is left alone: show_next decides whether it comes back."""
    assignment.status = Assignment.Status.SUBMITTED
    claimed_ahead = Q(
        reviewer_id=assignment.reviewer_id,
        status=Assignment.Status.ACTIVE,
        shown_at__isnull=True,
        lease_expires_at__gt=now,
    )
    Assignment.objects.filter(Q(pk=assignment.pk) | claimed_ahead).update(
        status=Case(When(pk=assignment.pk, then=Value(assignment.status)), default=F("status")),
        shown_at=Case(When(pk=assignment.pk, then=F("shown_at")), default=Value(now)),
    )


def save_and_next(*, reviewer, assignment_id: int, **decision) -> tuple[Decision, ReviewItem | None]:
    """Save-and-next: store the decision (submit_decision's arguments), put the reviewer's next item
    in front of them and claim the one after it, all in one transaction. The decision's statement
    locked the reviewer, so the claims need no lock of their own."""
    with transaction.atomic():
        saved = submit_decision(reviewer=reviewer, assignment_id=assignment_id, **decision)
        return saved, show_next(reviewer, claim_ahead=True, locked=True)


def _has_draft(assignment: Assignment) -> bool:
    try:
        return assignment.draft is not None
    except ReviewDraft.DoesNotExist:
        return False


def _same_decision(
    existing: Decision, verdict: str, reasons: list[str], output: str | None, preference: str
) -> bool:
    if existing.verdict != verdict:
        return False
    if preference and existing.preference != preference and existing.preference != Preference.NEITHER:
        return False
    if verdict == Verdict.REJECT:
        return sorted(existing.reasons) == reasons
    if verdict == Verdict.EDIT:
        return existing.revision is not None and existing.revision.output == (output or "").strip()
    return True


def check_preference(item: ReviewItem, verdict: str, preference: str) -> str:
    """A pair needs the physician's choice; anything else must not carry one."""
    if not item.candidate.is_pair:
        if preference:
            raise ReviewError("This item is not a preference pair: there is nothing to choose between.")
        return ""
    if verdict == Verdict.REJECT:
        if preference not in ("", Preference.NEITHER):
            raise ReviewError("Rejecting a pair means both responses are unacceptable.")
        return Preference.NEITHER
    if preference not in PAIR_CHOICES:
        raise ReviewError("Choose the better response (A or B), or call it a tie.")
    return preference


def _check_reject(reasons: list[str], comment: str) -> None:
    if not reasons:
        raise ReviewError("Choose at least one reason for rejecting this item.")
    unknown = [r for r in reasons if r not in RejectReason.values]
    if unknown:
        raise ReviewError(f"Unknown reason code(s): {', '.join(unknown)}.")
    if RejectReason.OTHER in reasons and not comment:
        raise ReviewError("You chose 'Other': say why in the comment.")


def _settle(
    item: ReviewItem, latest: Decision, *, as_locked: ReviewItem | None = None, audit: list | None = None
) -> None:
    """Once an item has the reviews it needs, it settles by review.settling's rule (the same verdict
    and the same text); anything else goes to adjudication.

    `as_locked`: the item's row as read under its lock in this transaction, unchanged since: its audit
    entry is built from it, without django-auditlog reading the row again, and added to `audit` (the
    caller writes the list).
    """
    if item.status != ReviewItem.Status.PENDING:
        return
    if item.required_reviews == 1:
        # A pending single-review item has no standing verdict before this one (it would be decided).
        decisions = [latest]
    else:
        decisions = list(
            item.decisions.filter(extra=False).select_related("revision").order_by("created_at", "pk")
        )
    if len(decisions) < item.required_reviews:
        # Still waiting for another reviewer: a slot that was a lease is a decision now, so the claim
        # hint must not point at that lease's end: once past, the queue's counts would take the item
        # for free (review.selectors.reviewing.left_in_queue).
        now = timezone.now()
        recount_hint(item, now)
        return
    outcome = settle(decisions)
    if outcome.disputed:
        item.status = ReviewItem.Status.NEEDS_ADJUDICATION
        _save_item(item, ["status"], as_locked, audit)
        return
    item.final_verdict = outcome.verdict
    item.final_revision = outcome.revision
    item.final_preference = outcome.preference
    item.status = ReviewItem.Status.DECIDED
    item.decided_at = timezone.now()
    _save_item(
        item,
        ["status", "final_verdict", "final_revision", "final_preference", "decided_at"],
        as_locked,
        audit,
    )


def _save_item(item: ReviewItem, fields: list[str], as_locked: ReviewItem | None, audit: list | None) -> None:
    if as_locked is None:
        item.save(update_fields=fields)  # django-auditlog reads the row again for the changes
        return
    audit.append(updated_entry(item, as_locked=as_locked, update_fields=fields))
    with disable_auditlog():
        item.save(update_fields=fields)


def undo_last_decision(*, reviewer) -> Decision:
    """Take back the reviewer's own last decision, within the undo window. Nothing is deleted."""
    now = timezone.now()
    window = timedelta(seconds=settings.REVIEW_UNDO_SECONDS)
    with transaction.atomic():
        # A revision is undone by revising again (its item may have settled on it meanwhile).
        last = (
            Decision.objects.filter(reviewer=reviewer, supersedes__isnull=True)
            .order_by("-created_at", "-pk")
            .first()
        )
        if last is None or last.created_at < now - window:
            raise ReviewError(
                f"There is nothing to undo: a decision can be undone within {settings.REVIEW_UNDO_SECONDS} "
                "seconds of making it."
            )
        assignment = Assignment.objects.select_for_update(of=("self",)).get(pk=last.assignment_id)
        item = ReviewItem.objects.select_for_update(of=("self",)).get(pk=last.item_id)
        if item.adjudications.exists():
            raise ReviewError("A senior physician has already settled this item; it can no longer be undone.")
        last = Decision.objects.select_for_update(of=("self",)).get(pk=last.pk)
        last.undone_at = now
        last.save(update_fields=["undone_at"])
        assignment.status = Assignment.Status.ACTIVE
        # Back in front of the reviewer at once; it is also their oldest claim, so it comes first.
        assignment.lease_expires_at = now + lease_duration()
        assignment.shown_at = now
        assignment.save(update_fields=["status", "lease_expires_at", "shown_at"])
        if item.status != ReviewItem.Status.PENDING and not last.extra:
            item.status = ReviewItem.Status.PENDING
            item.final_verdict = item.final_preference = ""
            item.final_revision = None
            item.decided_at = None
            item.save(
                update_fields=["status", "final_verdict", "final_preference", "final_revision", "decided_at"]
            )
        return last


# Exports that may hold an item (being built, or written); a failed or empty one wrote nothing.
EXPORTS_THAT_WROTE = (Export.Status.QUEUED, Export.Status.RUNNING, Export.Status.READY)


def revision_refusal(decision: Decision) -> str:
    """Why the reviewer may no longer revise this decision of theirs ("" when they may).

    The rule: a standing decision may be revised until a senior physician has adjudicated its item
    (the ruling rests on the verdicts as they were), and, once the item is approved, until an export
    is started after it settled (it may be in that export, and an export is never changed afterwards).
    """
    if decision.undone_at is not None:
        return "You undid this decision; it no longer stands, so there is nothing to revise."
    if decision.superseded_at is not None:
        return "You revised this decision already: open your latest decision on this item to revise it again."
    item = decision.item
    ruling = item.adjudications.order_by("-created_at").first()
    if ruling is not None:
        return (
            f"A senior physician settled this item on {ruling.created_at:%Y-%m-%d}, so your decision can no "
            "longer be revised. If you think the outcome is wrong, flag it to a senior physician."
        )
    if (
        item.is_approved
        and Export.objects.filter(created_at__gte=item.decided_at, status__in=EXPORTS_THAT_WROTE).exists()
    ):
        return (
            "This item was approved and an export has been made since, which may hold it: your decision "
            "can no longer be revised. If the exported text is wrong, tell the data lead."
        )
    return ""


def revise_decision(
    *,
    reviewer,
    decision_id: int,
    verdict: str,
    reasons: Iterable[str] = (),
    comment: str = "",
    instruction: str | None = None,
    task_input: str | None = None,
    output: str | None = None,
    preference: str = "",
) -> Decision:
    """Replace one of the reviewer's own decisions with a new one; the old one stays, superseded.

    The item settles again on the standing decisions (which may send it to adjudication, or settle a
    disputed one). A retried revision stores one; revision_refusal says when it is no longer allowed.
    An edit is made on the text every reviewer was shown (the original, version 0).
    """
    reasons = sorted(set(reasons))
    comment = comment.strip()
    now = timezone.now()
    with transaction.atomic():
        old = Decision.history.filter(pk=decision_id, reviewer=reviewer).first()
        if old is None:
            raise NotYours("This is not one of your decisions.")
        # The item first, then the decision: the order submit_decision and undo lock in.
        item = (
            ReviewItem.objects.select_for_update(of=("self",))
            .select_related("candidate", "final_revision")
            .get(pk=old.item_id)
        )
        old = Decision.history.select_for_update(of=("self",)).select_related("revision").get(pk=old.pk)
        if old.superseded_at is not None:
            newer = Decision.history.filter(supersedes=old).select_related("revision").first()
            if newer is not None and _same_decision(newer, verdict, reasons, output, preference):
                return newer  # a retried request
        refusal = revision_refusal(old)
        if refusal:
            raise ReviewError(refusal)
        preference = check_preference(item, verdict, preference)
        revision = None
        if verdict == Verdict.REJECT:
            _check_reject(reasons, comment)
        elif verdict == Verdict.EDIT:
            posted = tuple((x or "").strip() for x in (instruction, task_input, output))
            if (
                old.verdict == Verdict.EDIT
                and old.revision is not None
                and posted == (old.revision.instruction, old.revision.input, old.revision.output)
                and (old.preference, old.comment) == (preference, comment)
            ):
                raise ReviewError("You changed nothing: your decision stands as it was.")
            revision = store_revision(
                item, reviewer, instruction, task_input, output, 0, preference, on_original=True
            )
        elif verdict != Verdict.ACCEPT:
            raise ReviewError("Choose accept, edit or reject.")
        if (
            verdict != Verdict.EDIT
            and (verdict, preference, comment) == (old.verdict, old.preference, old.comment)
            and (verdict != Verdict.REJECT or reasons == sorted(old.reasons))
        ):
            raise ReviewError("You changed nothing: your decision stands as it was.")
        old.superseded_at = now
        old.save(update_fields=["superseded_at"])  # its verdict stays as it was
        decision = Decision.objects.create(
            assignment_id=old.assignment_id,
            item=item,
            reviewer=reviewer,
            verdict=verdict,
            preference=preference,
            reasons=reasons if verdict == Verdict.REJECT else [],
            comment=comment,
            revision=revision,
            text_digest=decision_digest(item.candidate, verdict, preference, revision),
            extra=old.extra,
            # The time spent reviewing the item stays the first review's (median time per item).
            seconds_spent=old.seconds_spent,
            supersedes=old,
        )
        if not old.extra:
            _resettle(item, decision)
        return decision


def _resettle(item: ReviewItem, latest: Decision) -> None:
    """Settle the item again on its standing decisions, as if they had just been made."""
    item.status = ReviewItem.Status.PENDING
    item.final_verdict = item.final_preference = ""
    item.final_revision = None
    item.decided_at = None
    _settle(item, latest)
    item.save(update_fields=["status", "final_verdict", "final_revision", "final_preference", "decided_at"])
