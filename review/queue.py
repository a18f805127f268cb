"""The review queue: claiming the next item, deciding on it, drafts, undo and adjudication.

Rules the queue keeps (tests/review/test_queue.py and test_queue_concurrency.py hold it to them):

- A claim is a lease (settings.REVIEW_LEASE_MINUTES). An expired lease returns its item to the queue;
  a reviewer who comes back to an expired item nobody else took meanwhile gets it back, lease renewed.
- A reviewer never gets the same item twice, and never sees another reviewer's verdict first.
- A late submit (lease expired) is accepted as a normal verdict if nobody else claimed the item
  meanwhile; otherwise it is kept as an extra verdict (Decision.extra) that does not settle the item,
  and the reviewer is told so. Nothing is silently dropped.
- Decisions are append-only: an undo (own last decision, within settings.REVIEW_UNDO_SECONDS) marks
  the decision undone and gives the item back to its reviewer; it never deletes anything.
- A draft is scratch work on a held item; it is refused once the item is decided, so it can never
  overwrite a submitted decision.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q, Subquery, Window
from django.db.models.functions import Coalesce
from django.utils import timezone

from review.models import (
    APPROVING_VERDICTS,
    Adjudication,
    Assignment,
    Decision,
    ItemRevision,
    Preference,
    RejectReason,
    ReviewDraft,
    ReviewItem,
    Verdict,
)

# How many items one reviewer holds at most: the one in front of them and the next, claimed ahead
# so that save-and-next only has to show it.
HELD_AT_MOST = 2
PAIR_CHOICES = (Preference.OUTPUT, Preference.REJECTED_OUTPUT, Preference.TIE)


class ReviewError(Exception):
    """A decision cannot be stored; the message tells the reviewer what to do."""


class NotYours(ReviewError):
    """The assignment or item is not this user's to see: views answer 404, revealing nothing."""


def _lease() -> timedelta:
    return timedelta(minutes=settings.REVIEW_LEASE_MINUTES)


def _live(now) -> Q:
    """Assignments that count against an item's required reviews: submitted, or claimed and not expired."""
    return Q(status=Assignment.Status.SUBMITTED) | Q(
        status=Assignment.Status.ACTIVE, lease_expires_at__gt=now
    )


def _taken_by_someone_else(assignment: Assignment) -> bool:
    """Another reviewer claimed the item after this assignment's lease ran out."""
    return (
        Assignment.objects.filter(item_id=assignment.item_id, claimed_at__gt=assignment.lease_expires_at)
        .exclude(pk=assignment.pk)
        .exists()
    )


def _held(reviewer, now) -> list[Assignment]:
    """The reviewer's claimed, undecided items, oldest claim first; expired ones come back if still free."""
    held = []
    active = (
        Assignment.objects.filter(reviewer=reviewer, status=Assignment.Status.ACTIVE)
        .select_related("item__candidate__domain", "draft")  # the page shows both: one query
        .order_by("claimed_at", "pk")
    )
    for assignment in active:
        if assignment.lease_expires_at > now:
            held.append(assignment)
        elif assignment.item.status == ReviewItem.Status.PENDING:
            item = ReviewItem.objects.select_for_update(of=("self",)).get(pk=assignment.item_id)
            if item.status != ReviewItem.Status.PENDING or _taken_by_someone_else(assignment):
                continue  # someone else has it now; a late submit is still kept (as an extra verdict)
            # Their lease ran out but nobody took the item: give it back (their draft is waiting).
            assignment.lease_expires_at = now + _lease()
            assignment.save(update_fields=["lease_expires_at"])
            _refresh_hint(item, list(Assignment.objects.filter(_live(now), item_id=item.pk)), now)
            held.append(assignment)
    return held


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


FAR_FUTURE = timedelta(days=3650)


def _refresh_hint(item: ReviewItem, live: list[Assignment], now) -> None:
    """Store when the item may next have a free slot (we hold its row lock)."""
    if len(live) < item.required_reviews:
        available_at = None
    else:
        leases = [a.lease_expires_at for a in live if a.status == Assignment.Status.ACTIVE]
        available_at = min(leases) if leases else now + FAR_FUTURE
    if item.available_at != available_at:
        item.available_at = available_at
        ReviewItem.objects.filter(pk=item.pk).update(available_at=available_at)


def _claim_new(reviewer, now, *, shown: bool = False) -> Assignment | None:
    """Claim one more open item for the reviewer: the oldest one that still needs a reviewer.

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
    if connection.features.has_select_for_update_skip_locked:
        # Reviewers claiming at the same moment each get a different item, without waiting.
        open_items = open_items.select_for_update(skip_locked=True, of=("self",))
    passed_over: list[int] = []
    for _ in range(50):
        item = open_items.exclude(pk__in=passed_over).first()
        if item is None:
            return None
        # We hold the item's row lock now. The search above ran on a snapshot taken when it started,
        # so a claim committed meanwhile may be missing from it; count again in a fresh statement
        # (READ COMMITTED: a new snapshot) before taking a slot.
        live = list(
            Assignment.objects.filter(_live(now), item_id=item.pk).only(
                "reviewer_id", "status", "lease_expires_at"
            )
        )
        if len(live) < item.required_reviews and all(a.reviewer_id != reviewer.pk for a in live):
            break
        _refresh_hint(item, live, now)  # a stale hint: correct it so the next claim skips this item
        passed_over.append(item.pk)
    else:
        return None
    assignment = Assignment.objects.create(
        item=item,  # the claimed row (its few loaded fields): prefetch_next returns it without a query
        reviewer=reviewer,
        lease_expires_at=now + _lease(),
        shown_at=now if shown else None,
        pair_swapped=random.random() < 0.5,
    )
    _refresh_hint(item, [*live, assignment], now)
    return assignment


def claim_next(reviewer) -> ReviewItem | None:
    """Claim the next item for `reviewer` (or return the one they hold). None when the queue is empty.

    The claimed item carries its assignment as `item.assignment`.
    """
    now = timezone.now()
    with transaction.atomic():
        held = _held(reviewer, now)
        if held:
            item = held[0].item  # fetched with its candidate and domain by _held
            item.assignment = held[0]
            return item
        assignment = _claim_new(reviewer, now, shown=True)
        if assignment is None:
            return None
        # Fetched again with its item and (no) draft, as _held does: the page reads both.
        assignment = Assignment.objects.select_related("item__candidate__domain", "draft").get(
            pk=assignment.pk
        )
        item = assignment.item
        item.assignment = assignment
        return item


def prefetch_next(reviewer) -> ReviewItem | None:
    """Claim the item after the current one ahead of time, so save-and-next only has to show it."""
    now = timezone.now()
    with transaction.atomic():
        held = _held(reviewer, now)
        if len(held) >= HELD_AT_MOST:
            return held[1].item
        if not held:
            return None
        assignment = _claim_new(reviewer, now)
        return assignment.item if assignment else None


def held_draft(assignment: Assignment) -> ReviewDraft | None:
    """The reviewer's saved draft on a held item (read with the assignment by claim_next)."""
    try:
        return assignment.draft
    except ReviewDraft.DoesNotExist:
        return None


def mark_shown(assignment: Assignment) -> None:
    """The item is in front of its reviewer from now: time spent counts from here."""
    if assignment.shown_at is None:
        assignment.shown_at = timezone.now()
        Assignment.objects.filter(pk=assignment.pk, shown_at__isnull=True).update(
            shown_at=assignment.shown_at
        )


def current_version(item: ReviewItem) -> tuple[int, str, str, str]:
    """(number, instruction, input, output) of the item's latest text: the candidate is version 0.

    An edit whose decision was undone no longer counts.
    """
    latest = (
        item.revisions.exclude(
            Exists(Decision.history.filter(revision=OuterRef("pk"), undone_at__isnull=False))
        )
        .order_by("-number")
        .first()
    )
    if latest is not None:
        return latest.number, latest.instruction, latest.input, latest.output
    candidate = item.candidate
    return 0, candidate.instruction, candidate.input, candidate.output


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
        # The assignment and its item, both locked in one statement: reviewers of the same item
        # settle it one at a time.
        assignment = (
            Assignment.objects.select_for_update(of=("self", "item"))
            .select_related("item__candidate")
            .filter(pk=assignment_id, reviewer=reviewer)
            .first()
        )
        if assignment is None:
            raise NotYours("This item is not assigned to you. Open the review queue to get your next item.")
        item = assignment.item
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

        preference = _check_preference(item, verdict, preference)
        revision = None
        if verdict == Verdict.REJECT:
            _check_reject(reasons, comment)
        elif verdict == Verdict.EDIT:
            revision = _store_revision(item, reviewer, instruction, task_input, output, based_on, preference)
        elif verdict != Verdict.ACCEPT:
            raise ReviewError("Choose accept, edit or reject.")

        late = assignment.lease_expires_at <= now
        extra = item.status != ReviewItem.Status.PENDING or (late and _taken_by_someone_else(assignment))
        started = assignment.shown_at or assignment.claimed_at
        decision = Decision.objects.create(
            assignment=assignment,
            item=item,
            reviewer=reviewer,
            verdict=verdict,
            preference=preference,
            reasons=reasons if verdict == Verdict.REJECT else [],
            comment=comment,
            revision=revision,
            extra=extra,
            seconds_spent=max(0, round((now - started).total_seconds())),
        )
        assignment.status = Assignment.Status.SUBMITTED
        assignment.save(update_fields=["status"])
        ReviewDraft.objects.filter(assignment=assignment).delete()  # scratch work, now decided
        if not extra:
            _settle(item, decision)
        return decision


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


def _check_preference(item: ReviewItem, verdict: str, preference: str) -> str:
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


def original_output(item: ReviewItem, preference: str = "", *, current_output: str | None = None) -> str:
    """The response an edit starts from: the chosen one of a pair, otherwise the current version's.

    A caller that has just read the current version passes its output, saving a query.
    """
    if preference == Preference.REJECTED_OUTPUT:
        return item.candidate.rejected_output
    return current_version(item)[3] if current_output is None else current_output


def _store_revision(item, author, instruction, task_input, output, based_on, preference="") -> ItemRevision:
    instruction, task_input, output = (
        (instruction or "").strip(),
        (task_input or "").strip(),
        (output or "").strip(),
    )
    if not instruction:
        raise ReviewError("The instruction cannot be empty.")
    if not output:
        raise ReviewError(
            "The edited response cannot be empty. Write the corrected answer, or reject the item."
        )
    number, old_instruction, old_input, old_current = current_version(item)
    if based_on is not None and based_on != number:
        raise ReviewError(
            f"This item was edited since you opened it (you edited version {based_on}; another reviewer "
            f"saved version {number}). Your text is kept below: reload the item to see the latest "
            "version, then apply your change to it."
        )
    old_output = original_output(item, preference, current_output=old_current)
    if (instruction, task_input, output) == (old_instruction.strip(), old_input.strip(), old_output.strip()):
        raise ReviewError("You did not change anything. Change the text, or accept the item as it is.")
    next_number = (item.revisions.aggregate(n=Max("number"))["n"] or 0) + 1
    return ItemRevision.objects.create(
        item=item,
        number=next_number,
        based_on=number,
        instruction=instruction,
        input=task_input,
        output=output,
        author=author,
    )


def _agreeing_key(decision: Decision) -> tuple[bool, str]:
    return decision.verdict in APPROVING_VERDICTS, decision.preference


def _settle(item: ReviewItem, latest: Decision) -> None:
    """Once an item has the reviews it needs, agreeing verdicts decide it; disagreement goes to adjudication."""
    if item.status != ReviewItem.Status.PENDING:
        return
    if item.required_reviews == 1:
        # A pending single-review item has no standing verdict before this one (it would be decided).
        decisions = [latest]
    else:
        decisions = list(item.decisions.filter(extra=False).select_related("revision").order_by("created_at"))
    if len(decisions) < item.required_reviews:
        return
    if len({_agreeing_key(d) for d in decisions}) > 1:
        item.status = ReviewItem.Status.NEEDS_ADJUDICATION
        item.save(update_fields=["status"])
        return
    edits = [d for d in decisions if d.verdict == Verdict.EDIT]
    item.final_revision = None
    if edits:
        item.final_verdict, item.final_revision = Verdict.EDIT, edits[-1].revision
    elif decisions[0].verdict in APPROVING_VERDICTS:
        item.final_verdict = Verdict.ACCEPT
    else:
        item.final_verdict = Verdict.REJECT
    item.final_preference = decisions[0].preference
    item.status = ReviewItem.Status.DECIDED
    item.decided_at = timezone.now()
    item.save(update_fields=["status", "final_verdict", "final_revision", "final_preference", "decided_at"])


def undo_last_decision(*, reviewer) -> Decision:
    """Take back the reviewer's own last decision, within the undo window. Nothing is deleted."""
    now = timezone.now()
    window = timedelta(seconds=settings.REVIEW_UNDO_SECONDS)
    with transaction.atomic():
        last = Decision.objects.filter(reviewer=reviewer).order_by("-created_at", "-pk").first()
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
        assignment.lease_expires_at = now + _lease()
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


def save_draft(
    *,
    reviewer,
    assignment_id: int,
    panel: str = "",
    instruction: str = "",
    task_input: str = "",
    output: str = "",
    edited: bool = False,
    reasons: Iterable[str] = (),
    comment: str = "",
    preference: str = "",
) -> ReviewDraft:
    """Autosave the reviewer's unsent work on a held item. Refused once the item is decided."""
    with transaction.atomic():
        assignment = (
            Assignment.objects.select_for_update(of=("self",))
            .filter(pk=assignment_id, reviewer=reviewer)
            .first()
        )
        if assignment is None:
            raise NotYours("This item is not assigned to you; the draft was not saved.")
        if (
            assignment.status != Assignment.Status.ACTIVE
            or Decision.objects.filter(assignment=assignment).exists()
        ):
            raise ReviewError("You already decided on this item; the draft was not saved over your decision.")
        if preference and preference not in Preference.values:
            preference = ""
        draft, _ = ReviewDraft.objects.update_or_create(
            assignment=assignment,
            defaults={
                "panel": panel if panel in ("edit", "reject") else "",
                "instruction": instruction,
                "input": task_input,
                "output": output,
                "edited": edited,
                "reasons": sorted({r for r in reasons if r in RejectReason.values}),
                "comment": comment,
                "preference": preference,
            },
        )
        return draft


def progress(reviewer) -> tuple[int, Decision | None]:
    """(reviewed today, the decision an undo would take back) in one query: the progress line and
    the undo bar are on every page the reviewer sees."""
    now = timezone.now()
    start_of_day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    undo_since = now - timedelta(seconds=settings.REVIEW_UNDO_SECONDS)
    latest = (
        Decision.objects.filter(reviewer=reviewer, created_at__gte=min(start_of_day, undo_since))
        .annotate(today=Window(Count("pk", filter=Q(created_at__gte=start_of_day))))
        .order_by("-created_at", "-pk")
        .first()
    )
    if latest is None:
        return 0, None
    return latest.today, latest if latest.created_at >= undo_since else None


@dataclass(frozen=True)
class LeftInQueue:
    """What is left to review, as one reviewer sees it."""

    yours: int  # items this reviewer holds undecided or can still claim
    with_others: int  # other pending items: held by, or waiting for, other reviewers


def left_in_queue(reviewer, *, nothing_claimable: bool = False) -> LeftInQueue:
    """What is left for `reviewer`, counted in one query and kept a few seconds per reviewer (with a
    million pending items a count is not free). `nothing_claimable`: the caller just failed to claim
    an item, so none is theirs; counted afresh so the page does not contradict itself."""
    key = f"review:left_in_queue:{reviewer.pk}"
    left = None if nothing_claimable else cache.get(key)
    if left is None:
        now = timezone.now()
        taken = (
            Assignment.objects.filter(_live(now), item=OuterRef("pk"))
            .order_by()
            .values("item")
            .annotate(n=Count("pk"))
            .values("n")
        )
        mine = Assignment.objects.filter(item=OuterRef("pk"), reviewer=reviewer)
        held = mine.filter(status=Assignment.Status.ACTIVE, lease_expires_at__gt=now)
        claimable = Q(reviewed_or_held=False, taken__lt=F("required_reviews"))
        counts = (
            ReviewItem.objects.filter(status=ReviewItem.Status.PENDING)
            .annotate(taken=Coalesce(Subquery(taken), 0), held=Exists(held), reviewed_or_held=Exists(mine))
            .aggregate(total=Count("pk"), yours=Count("pk", filter=Q(held=True) | claimable))
        )
        yours = 0 if nothing_claimable else counts["yours"]
        left = LeftInQueue(yours=yours, with_others=counts["total"] - yours)
        cache.set(key, left, timeout=settings.REVIEW_PROGRESS_CACHE_SECONDS)
    return left


def adjudication_queue():
    """Items whose reviewers disagree, oldest first."""
    return (
        ReviewItem.objects.filter(status=ReviewItem.Status.NEEDS_ADJUDICATION)
        .select_related("candidate__domain")
        .order_by("id")
    )


def adjudication_scope():
    """The items an adjudicator may open: disputed ones, and those already settled by adjudication.

    An item still in review is not among them: its first verdict must stay unseen until all are in.
    """
    return ReviewItem.objects.filter(
        Q(status=ReviewItem.Status.NEEDS_ADJUDICATION) | Q(pk__in=Adjudication.objects.values("item_id"))
    )


def adjudicate(
    *,
    adjudicator,
    item_id: int,
    verdict: str,
    preference: str = "",
    instruction: str | None = None,
    task_input: str | None = None,
    output: str | None = None,
    based_on: int | None = None,
    comment: str = "",
    revision_id: int | None = None,
) -> Adjudication:
    """A senior physician settles a disputed item; the reviewers' own verdicts stay as they were."""
    with transaction.atomic():
        item = (
            ReviewItem.objects.select_for_update(of=("self",))
            .select_related("candidate")
            .filter(pk=item_id)
            .first()
        )
        if item is None:
            raise ReviewError("There is no such item.")
        if item.status != ReviewItem.Status.NEEDS_ADJUDICATION:
            raise ReviewError(
                "This item is not waiting for adjudication (someone may have settled it already)."
            )
        if Decision.history.filter(item=item, reviewer=adjudicator).exists():
            raise ReviewError(
                "You reviewed this item yourself: another senior physician settles it, "
                "so that the adjudication stays independent."
            )
        preference = _check_preference(item, verdict, preference)
        revision = None
        if verdict == Verdict.EDIT:
            revision = _store_revision(
                item, adjudicator, instruction, task_input, output, based_on, preference
            )
        elif verdict == Verdict.ACCEPT and revision_id:
            # Accepting one reviewer's edit as it stands.
            revision = item.revisions.filter(pk=revision_id).first()
            if revision is None:
                raise ReviewError("That edit does not belong to this item.")
        elif verdict not in (Verdict.ACCEPT, Verdict.REJECT):
            raise ReviewError("Choose accept, edit or reject.")
        comment = comment.strip()
        if verdict == Verdict.REJECT and not comment:
            raise ReviewError("Say why the item is rejected in the comment.")
        adjudication = Adjudication.objects.create(
            item=item,
            adjudicator=adjudicator,
            verdict=verdict,
            preference=preference,
            revision=revision,
            comment=comment,
        )
        item.status = ReviewItem.Status.DECIDED
        item.final_verdict = Verdict.EDIT if revision is not None else verdict
        item.final_preference = preference
        item.final_revision = revision
        item.decided_at = timezone.now()
        item.save(
            update_fields=["status", "final_verdict", "final_preference", "final_revision", "decided_at"]
        )
        return adjudication
