"""Claims: an item's lease for one reviewer, claimed next, claimed ahead, resumed, or shown.

- A claim is a lease (settings.REVIEW_LEASE_MINUTES). An expired lease returns its item to the queue;
  a reviewer who comes back to an expired item nobody else took meanwhile gets it back, lease renewed.
- A reviewer never gets the same item twice; an item they skipped (skip_item) goes to other reviewers.
- One reviewer holds at most HELD_AT_MOST items, also under concurrent requests (claims of one
  reviewer take turns), and a claim that skipped rows other reviewers were claiming looks again.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from core.sql_rows import ModelColumns, read_row
from review.models import Assignment, Decision, ReviewDraft, ReviewItem
from review.queue.errors import NotYours, ReviewError
from review.selectors.reviewing import (
    LIVE_ASSIGNMENTS_SQL,
    TABLES,
    live_assignments,
    live_params,
    progress_since,
)
from synth.models import Candidate, Domain, QualityResult

# How many items one reviewer holds at most: the one in front of them and the next, claimed ahead
# so that save-and-next only has to show it.
HELD_AT_MOST = 2


def lease_duration() -> timedelta:
    """How long a claim holds its item for its reviewer."""
    return timedelta(minutes=settings.REVIEW_LEASE_MINUTES)


def taken_by_someone_else(assignment: Assignment) -> bool:
    """Another reviewer claimed the item after this assignment's lease ran out."""
    return (
        Assignment.objects.filter(item_id=assignment.item_id, claimed_at__gt=assignment.lease_expires_at)
        .exclude(pk=assignment.pk)
        .exists()
    )


# The reviewer's assignments with what the review page shows of them, in one statement: the item, its
# candidate and domain, the reviewer's draft, the candidate's quality results (its flags, as one JSON
# array: synth.quality.flags reads it) and the reviewer's progress line (review.selectors.reviewing's
# progress(): decided today, and the decision an undo would take back). Written out because every
# save-and-next reads it: built through the ORM (four joins, four subqueries) it cost about 5 ms of
# Python, several times the statement's own time.
_ASSIGNMENT = ModelColumns(Assignment, "a")
_ITEM = ModelColumns(ReviewItem, "i")
_CANDIDATE = ModelColumns(Candidate, "c")
_DOMAIN = ModelColumns(Domain, "d")
_DRAFT = ModelColumns(ReviewDraft, "r")
_SHOWN = (_ASSIGNMENT, _ITEM, _CANDIDATE, _DOMAIN, _DRAFT)
_RESULT_FIELDS = ("check_name", "passed", "flagged", "score", "reason", "evidence")
_JSON_ARRAY_OF_OBJECTS = {
    "postgresql": "JSONB_AGG(JSONB_BUILD_OBJECT({}))",
    "sqlite": "JSON_GROUP_ARRAY(JSON_OBJECT({}))",
}
_STANDING = """
    FROM {decision} x WHERE x.reviewer_id = %(reviewer)s AND x.supersedes_id IS NULL
    AND x.undone_at IS NULL AND x.superseded_at IS NULL"""
_AS_SHOWN = """
SELECT {columns},
    (SELECT {gate_results} FROM {result} q WHERE q.candidate_id = c.id),
    (SELECT COUNT(*) {standing} AND x.created_at >= %(start_of_day)s),
    (SELECT x.verdict {standing} AND x.created_at >= %(undo_since)s ORDER BY x.created_at DESC, x.id DESC LIMIT 1),
    (SELECT x.item_id {standing} AND x.created_at >= %(undo_since)s ORDER BY x.created_at DESC, x.id DESC LIMIT 1)
FROM {assignment} a
JOIN {item} i ON i.id = a.item_id
JOIN {candidate} c ON c.id = i.candidate_id
LEFT JOIN {domain} d ON d.id = c.domain_id
LEFT JOIN {draft} r ON r.assignment_id = a.id
WHERE a.reviewer_id = %(reviewer)s AND {which}
ORDER BY a.claimed_at, a.id"""


@cache
def _as_shown_sql(which: str) -> str:
    """_AS_SHOWN for this database, the assignments `which` says (a condition on `a`). Only the models'
    table and column names are formatted in; every value is bound as a parameter."""
    pairs = ", ".join(f"'{name}', q.{name}" for name in _RESULT_FIELDS)
    return _AS_SHOWN.format(
        columns=", ".join(model.sql for model in _SHOWN),
        gate_results=_JSON_ARRAY_OF_OBJECTS[connection.vendor].format(pairs),
        standing=_STANDING.format(decision=Decision._meta.db_table),
        result=QualityResult._meta.db_table,
        assignment=Assignment._meta.db_table,
        item=ReviewItem._meta.db_table,
        candidate=Candidate._meta.db_table,
        domain=Domain._meta.db_table,
        draft=ReviewDraft._meta.db_table,
        which=which,
    )


def _as_shown(reviewer, now, *, assignment_id: int | None = None) -> list[Assignment]:
    """The reviewer's active assignments as shown (_AS_SHOWN), oldest claim first; or the one
    `assignment_id`. Each carries its item, candidate, domain and draft as select_related would, the
    candidate its `gate_results`, the assignment the progress line (progress_read_with reads it)."""
    start_of_day, undo_since = progress_since(now)
    adapt = connection.ops.adapt_datetimefield_value
    params = {
        "reviewer": reviewer.pk,
        "start_of_day": adapt(start_of_day),
        "undo_since": adapt(undo_since),
    }
    if assignment_id is None:
        sql = _as_shown_sql("a.status = %(active)s")
        params["active"] = Assignment.Status.ACTIVE.value
    else:
        sql = _as_shown_sql("a.id = %(assignment)s")
        params["assignment"] = assignment_id
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [_read_shown(row) for row in rows]


def _read_shown(row) -> Assignment:
    (assignment, item, candidate, domain, draft), rest = read_row(row, _SHOWN)
    gate_results, reviewed_today, undo_verdict, undo_item_id = rest
    candidate.domain = domain
    candidate.gate_results = json.loads(gate_results) if isinstance(gate_results, str) else gate_results
    item.candidate = candidate
    assignment.item = item
    with_draft(assignment, draft)
    assignment.reviewed_today = reviewed_today
    assignment.undoable_row = {"verdict": undo_verdict, "item_id": undo_item_id} if undo_verdict else None
    return assignment


def with_draft(assignment: Assignment, draft: ReviewDraft | None) -> None:
    """Put the draft read with the assignment on it, as select_related("draft") does: no draft reads as
    ReviewDraft.DoesNotExist, without a query."""
    Assignment.draft.related.set_cached_value(assignment, draft)
    if draft is not None:
        ReviewDraft.assignment.field.set_cached_value(draft, assignment)


def _held(reviewer, now) -> list[Assignment]:
    """The reviewer's claimed, undecided items, oldest claim first; expired ones come back if still free."""
    held = []
    for assignment in _as_shown(reviewer, now):
        if assignment.lease_expires_at > now:
            held.append(assignment)
        elif assignment.item.status == ReviewItem.Status.PENDING:
            item = ReviewItem.objects.select_for_update(of=("self",)).get(pk=assignment.item_id)
            if item.status != ReviewItem.Status.PENDING or taken_by_someone_else(assignment):
                continue  # someone else has it now; a late submit is still kept (as an extra verdict)
            # Their lease ran out but nobody took the item: give it back (their draft is waiting).
            assignment.lease_expires_at = now + lease_duration()
            assignment.save(update_fields=["lease_expires_at"])
            recount_hint(item, now)
            held.append(assignment)
    return held


FAR_FUTURE = timedelta(days=3650)


def recount_hint(item: ReviewItem, now) -> None:
    """Count the item's live assignments and store when it may next have a free slot (we hold its
    row lock)."""
    live = list(Assignment.objects.filter(live_assignments(now), item_id=item.pk))
    if len(live) < item.required_reviews:
        available_at = None
    else:
        leases = [a.lease_expires_at for a in live if a.status == Assignment.Status.ACTIVE]
        available_at = min(leases) if leases else now + FAR_FUTURE
    if item.available_at != available_at:
        item.available_at = available_at
        ReviewItem.objects.filter(pk=item.pk).update(available_at=available_at)


# _take_slot's statement, written out: built through the ORM (subqueries in a CASE) it cost about
# 8 ms of Python per claim where the two statements it replaces cost 3 to 5 (measured on 1,000,000
# items); this is the review loop's hot path. Portable SQL (SQLite and PostgreSQL).
_TAKE_SLOT = """
UPDATE {item} SET available_at = CASE
    WHEN required_reviews <= 1 + (SELECT COUNT(*) {live})
    THEN (SELECT MIN(lease) FROM (
        SELECT a.lease_expires_at AS lease {live} AND a.status = %(active)s
        UNION ALL SELECT %(new_lease)s) AS leases)
    ELSE NULL END
WHERE id = %(item_id)s AND required_reviews > (SELECT COUNT(*) {live})"""
# Only the models' own table names are formatted in; every value is bound as a parameter.
_TAKE_SLOT = _TAKE_SLOT.format(live=LIVE_ASSIGNMENTS_SQL.format(**TABLES), **TABLES)


def _take_slot(item: ReviewItem, now) -> bool:
    """Take one of the item's free slots, if it still has one, for a claim about to be stored: store
    the hint as it will be with that claim (recount_hint's rule, the new claim counted; we hold the
    item's row lock). False when it has none.

    One UPDATE counts and stores. The search that locked the row ran on a snapshot taken when it
    started, so a claim committed meanwhile may be missing from it; this statement takes a fresh one
    (READ COMMITTED) and counts again. The claim's reviewer has no assignment on the item (the search
    excludes those, and the reviewer's own claims take turns).
    """
    params = {
        **live_params(now),
        "new_lease": connection.ops.adapt_datetimefield_value(now + lease_duration()),
        "item_id": item.pk,
    }
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_SLOT, params)
        return cursor.rowcount == 1


def _lock_reviewer(reviewer) -> None:
    """Serialise one reviewer's claims: concurrent requests of the same reviewer (ten copies of one
    submit, each rendering the next item, and the page's prefetch) take turns, each seeing the claims
    the others made, so nobody ever holds more than HELD_AT_MOST items. Other reviewers are not held up."""
    list(get_user_model().objects.select_for_update().filter(pk=reviewer.pk).values_list("pk", flat=True))


def _claim_new(
    reviewer, now, *, shown: bool = False, wait_for: int | None = None
) -> tuple[Assignment | None, int | None]:
    """Claim one more open item for the reviewer: the oldest one that still needs a reviewer.

    Returns (the new assignment or None, an open item whose row another reviewer had locked). The
    search skips locked rows so reviewers never wait on each other; when it finds nothing but skipped
    a row, the caller looks again with `wait_for` set to that item: this claim then waits for the
    other reviewer's instant-long claim to commit and counts the item's free slots afresh, so
    "nothing left" means nothing is claimable, not that someone held a row at that moment.

    `shown`: the item goes in front of the reviewer at once (claim_next), so time spent counts from now.
    """
    mine = Assignment.objects.filter(item=OuterRef("pk"), reviewer=reviewer)
    open_items = (
        ReviewItem.objects.filter(status=ReviewItem.Status.PENDING)
        .filter(Q(available_at__isnull=True) | Q(available_at__lte=now))
        .filter(~Exists(mine))
        .order_by("id")
        .only("id", "required_reviews", "available_at")
    )
    skip_locked = connection.features.has_select_for_update_skip_locked
    # Reviewers claiming at the same moment each get a different item, without waiting.
    search = open_items.select_for_update(skip_locked=True, of=("self",)) if skip_locked else open_items
    passed_over: list[int] = []
    for attempt in range(50):
        if attempt == 0 and wait_for is not None:
            item = open_items.select_for_update(of=("self",)).filter(pk=wait_for).first()
            if item is None:
                continue  # settled or filled meanwhile: search as usual
        else:
            item = search.exclude(pk__in=passed_over).first()
            if item is None:
                skipped = None
                if skip_locked:
                    # An open item the locked search did not return was locked by another claim.
                    skipped = open_items.exclude(pk__in=passed_over).values_list("pk", flat=True).first()
                return None, skipped
        if _take_slot(item, now):
            break
        recount_hint(item, now)  # no free slot: a stale hint; correct it so the next claim skips this item
        passed_over.append(item.pk)
    else:
        return None, None
    assignment = Assignment.objects.create(
        item=item,  # the claimed row (its few loaded fields): prefetch_next returns it without a query
        reviewer=reviewer,
        lease_expires_at=now + lease_duration(),
        shown_at=now if shown else None,
        pair_swapped=random.random() < 0.5,
    )
    return assignment, None


# How many times a claim looks again after finding only rows other reviewers had locked: each look
# waits for one such claim to commit, so a few are plenty; more would only queue behind a stampede.
CLAIM_LOOKS = 4


def claim_next(reviewer) -> ReviewItem | None:
    """Claim the next item for `reviewer` (or return the one they hold). None when nothing is claimable.

    The claimed item carries its assignment as `item.assignment`.
    """
    wait_for = None
    for _ in range(CLAIM_LOOKS):
        now = timezone.now()
        with transaction.atomic():
            _lock_reviewer(reviewer)
            held = _held(reviewer, now)
            if held:
                item = held[0].item  # fetched with its candidate and domain by _held
                item.assignment = held[0]
                return item
            assignment, wait_for = _claim_new(reviewer, now, shown=True, wait_for=wait_for)
            if assignment is not None:
                # Fetched again with its item and (no) draft, as _held does: the page reads both.
                [assignment] = _as_shown(reviewer, now, assignment_id=assignment.pk)
                item = assignment.item
                item.assignment = assignment
                return item
        if wait_for is None:
            return None
    return None


def prefetch_next(reviewer) -> ReviewItem | None:
    """Claim the item after the current one ahead of time, so save-and-next only has to show it."""
    wait_for = None
    for _ in range(CLAIM_LOOKS):
        now = timezone.now()
        with transaction.atomic():
            _lock_reviewer(reviewer)
            held = _held(reviewer, now)
            if len(held) >= HELD_AT_MOST:
                return held[1].item
            if not held:
                return None
            assignment, wait_for = _claim_new(reviewer, now, wait_for=wait_for)
            if assignment is not None:
                return assignment.item
        if wait_for is None:
            return None
    return None


def mark_shown(assignment: Assignment, now=None) -> None:
    """The item is in front of its reviewer from now: time spent counts from here."""
    if assignment.shown_at is None:
        assignment.shown_at = now or timezone.now()
        Assignment.objects.filter(pk=assignment.pk, shown_at__isnull=True).update(
            shown_at=assignment.shown_at
        )


def show_next(reviewer, *, claim_ahead: bool = False, locked: bool = False) -> ReviewItem | None:
    """Put the reviewer's next item in front of them (the one they hold, or a new claim) and, with
    `claim_ahead` (save-and-next), claim the one after it in the same transaction, so that the next
    save-and-next only has to show it and the page needs no request of its own to claim ahead.

    `locked`: the caller's transaction holds the reviewer's row lock already (save_and_next).
    None when nothing is claimable; otherwise the item carries its assignment as `item.assignment`.
    """
    wait_for = None
    for _ in range(CLAIM_LOOKS):
        now = timezone.now()
        # Each look in a transaction of its own, or in the caller's: READ COMMITTED gives every
        # statement a fresh snapshot, so a look that waited for another claim sees it either way.
        with transaction.atomic(savepoint=not locked):
            if not locked:
                _lock_reviewer(reviewer)
            held = _held(reviewer, now)
            if not held:
                assignment, wait_for = _claim_new(reviewer, now, shown=True, wait_for=wait_for)
                if assignment is None:
                    if wait_for is None:
                        return None
                    continue  # only rows other reviewers were claiming: look again, waiting for one
                # Fetched again with its item and (no) draft, as _held does: the page reads both.
                held = _as_shown(reviewer, now, assignment_id=assignment.pk)
            front = held[0]
            mark_shown(front, now)
            if claim_ahead and len(held) < HELD_AT_MOST:
                _claim_new(reviewer, now)  # ahead, at best: a row being claimed by others waits for next time
            item = front.item
            item.assignment = front
            return item
    return None


def skip_item(*, reviewer, assignment_id: int, reason: str) -> Assignment:
    """Pass a held item on to other reviewers ("not my specialty", "I am unsure"): not a verdict.

    The assignment stays, marked skipped, so the claim (which never offers a reviewer an item they
    have an assignment on) never offers it to this reviewer again, and skips are counted per reviewer.
    Skipping the same item again (a retried request) changes nothing.
    """
    if reason not in Assignment.SkipReason.values:
        raise ReviewError("Say why you skip this item: not your specialty, or unsure.")
    now = timezone.now()
    with transaction.atomic():
        assignment = (
            Assignment.objects.select_for_update(of=("self", "item"))
            .select_related("item")
            .filter(pk=assignment_id, reviewer=reviewer)
            .first()
        )
        if assignment is None:
            raise NotYours("This item is not assigned to you.")
        if assignment.status == Assignment.Status.SKIPPED:
            return assignment
        if assignment.status != Assignment.Status.ACTIVE:
            raise ReviewError(
                "You already decided on this item (or asked about it): it can no longer be skipped."
            )
        assignment.status = Assignment.Status.SKIPPED
        assignment.skip_reason = reason
        assignment.skipped_at = now
        assignment.save(update_fields=["status", "skip_reason", "skipped_at"])
        ReviewDraft.objects.filter(assignment=assignment).delete()
        item = assignment.item
        recount_hint(item, now)
        return assignment
