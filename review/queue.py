"""The review queue: claiming the next item, deciding on it, drafts, undo and adjudication.

Rules the queue keeps (tests/review/test_queue.py and test_queue_concurrency.py hold it to them):

- A claim is a lease (settings.REVIEW_LEASE_MINUTES). An expired lease returns its item to the queue;
  a reviewer who comes back to an expired item nobody else took meanwhile gets it back, lease renewed.
- A reviewer never gets the same item twice, and never sees another reviewer's verdict or pending
  edit: everyone is shown the candidate (or the settled text), and each edit is its author's own
  proposal. What settles an item is review.settling's rule; differing approved texts go to adjudication.
- One reviewer holds at most HELD_AT_MOST items, also under concurrent requests (claims of one
  reviewer take turns), and a claim that skipped rows other reviewers were claiming looks again.
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
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q, Subquery, Window
from django.db.models.functions import Coalesce
from django.utils import timezone

from review.models import (
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
from review.settling import decision_digest, settle
from synth.quality.phi import KINDS as PHI_KINDS
from synth.quality.phi import find_phi
from synth.quality.verdict import TEXT_FIELDS

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
        return None, None
    assignment = Assignment.objects.create(
        item=item,  # the claimed row (its few loaded fields): prefetch_next returns it without a query
        reviewer=reviewer,
        lease_expires_at=now + _lease(),
        shown_at=now if shown else None,
        pair_swapped=random.random() < 0.5,
    )
    _refresh_hint(item, [*live, assignment], now)
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
                assignment = Assignment.objects.select_related("item__candidate__domain", "draft").get(
                    pk=assignment.pk
                )
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
            text_digest=decision_digest(item.candidate, verdict, preference, revision),
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


def _based_on(based_on) -> int:
    """The version an edit was made on, as the page sent it: required, a version number."""
    if based_on is None or based_on == "":
        raise ReviewError(
            "This edit does not say which version of the item it was made on, so it cannot be checked "
            "against later changes: nothing was saved. Your text is kept below; save it again from this page."
        )
    if isinstance(based_on, str) and based_on.isascii() and based_on.isdigit():
        based_on = int(based_on)
    if isinstance(based_on, bool) or not isinstance(based_on, int) or based_on < 0:
        raise ReviewError(
            f"This edit names version '{based_on}' of the item, which is not a version number (0 is the "
            "original): nothing was saved. Your text is kept below; save it again from this page."
        )
    return based_on


def _phi_findings(item: ReviewItem, texts: dict[str, str], preference: str) -> list[dict]:
    """The PHI screen on an edit's whole text, plus a pair's other response, which exports carry too."""
    fields = dict(texts)
    if item.candidate.is_pair:
        other = (
            item.candidate.output
            if preference == Preference.REJECTED_OUTPUT
            else item.candidate.rejected_output
        )
        fields["rejected_output"] = other
    labels = dict(TEXT_FIELDS)
    return [
        {"field": name, "field_label": labels[name], "label": PHI_KINDS[f.kind], **f.as_dict()}
        for name, text in fields.items()
        for f in find_phi(text)
    ]


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
    based_on = _based_on(based_on)
    number, old_instruction, old_input, old_current = current_version(item)
    if based_on != number:
        raise ReviewError(
            f"This item changed since you opened it (you edited version {based_on}; it now reads as "
            f"version {number}). Your text is kept below: reload the item to see its text, then apply "
            "your change to it."
        )
    old_output = original_output(item, preference, current_output=old_current)
    if (instruction, task_input, output) == (old_instruction.strip(), old_input.strip(), old_output.strip()):
        raise ReviewError("You did not change anything. Change the text, or accept the item as it is.")
    findings = _phi_findings(
        item, {"instruction": instruction, "input": task_input, "output": output}, preference
    )
    next_number = (item.revisions.aggregate(n=Max("number"))["n"] or 0) + 1
    return ItemRevision.objects.create(
        item=item,
        number=next_number,
        based_on=number,
        instruction=instruction,
        input=task_input,
        output=output,
        author=author,
        phi_findings=findings,
        has_phi=bool(findings),
    )


def _settle(item: ReviewItem, latest: Decision) -> None:
    """Once an item has the reviews it needs, it settles by review.settling's rule (the same verdict
    and the same text); anything else goes to adjudication."""
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
        return
    outcome = settle(decisions)
    if outcome.disputed:
        item.status = ReviewItem.Status.NEEDS_ADJUDICATION
        item.save(update_fields=["status"])
        return
    item.final_verdict = outcome.verdict
    item.final_revision = outcome.revision
    item.final_preference = outcome.preference
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


def _proposes_an_edit(item: ReviewItem) -> bool:
    return item.decisions.filter(verdict=Verdict.EDIT).exists()


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
    """A senior physician settles a disputed item; the reviewers' own verdicts stay as they were.

    To accept, the senior names the text: `revision_id` a reviewer's edit, or 0 for the original
    (None, naming nothing, is refused when a reviewer proposed an edit).
    """
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
        proposed = None
        if verdict == Verdict.ACCEPT and revision_id:
            # Accepting one reviewer's edit as it stands (an edit whose decision was undone is gone).
            proposed = item.decisions.filter(revision_id=revision_id).select_related("revision").first()
            if proposed is None:
                raise ReviewError("That edit does not belong to this item.")
            if item.candidate.is_pair:
                # A pair's edit rewrote the response its author preferred: that response stays the chosen one.
                preference = preference or proposed.preference
                if preference != proposed.preference:
                    raise ReviewError(
                        f"That edit rewrites the {proposed.get_preference_display().lower()}: choose it as "
                        "the preferred response, or write the final text yourself."
                    )
        preference = _check_preference(item, verdict, preference)
        revision = None
        if verdict == Verdict.EDIT:
            revision = _store_revision(
                item, adjudicator, instruction, task_input, output, based_on, preference
            )
        elif proposed is not None:
            revision = proposed.revision
        elif verdict == Verdict.ACCEPT and revision_id is None and _proposes_an_edit(item):
            # Accepting "the item" is ambiguous once a reviewer proposed another text: say which.
            raise ReviewError(
                "The reviewers approved different texts: choose the text to accept (the original or a "
                "reviewer's edit), or write the final text yourself."
            )
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
