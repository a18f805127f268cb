"""What the adjudication pages read: the disputed items, and which items an adjudicator may open."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from review.adjudication_detail import REASON_LABELS, dispute_reasons
from review.models import Adjudication, Decision, ReviewItem, Verdict


def adjudication_queue() -> QuerySet[ReviewItem]:
    """Items whose reviewers disagree, oldest first."""
    return (
        ReviewItem.objects.filter(status=ReviewItem.Status.NEEDS_ADJUDICATION)
        .select_related("candidate__domain")
        .order_by("id")
    )


def adjudication_scope() -> QuerySet[ReviewItem]:
    """The items an adjudicator may open: disputed ones, and those already settled by adjudication.

    An item still in review is not among them: its first verdict must stay unseen until all are in.
    """
    return ReviewItem.objects.filter(
        Q(status=ReviewItem.Status.NEEDS_ADJUDICATION) | Q(pk__in=Adjudication.objects.values("item_id"))
    )


def _votes(item_ids: list[int]) -> dict[int, list[dict]]:
    """Who voted what on each item, in the order they voted (one query)."""
    votes: dict[int, list[dict]] = {}
    decisions = (
        Decision.objects.filter(item_id__in=item_ids)
        .select_related("reviewer")
        .only("item_id", "verdict", "reasons", "extra", "reviewer__username")
        .order_by("created_at", "pk")
    )
    for decision in decisions:
        votes.setdefault(decision.item_id, []).append(
            {
                "reviewer": decision.reviewer.get_username(),
                "verdict": decision.get_verdict_display(),
                "reasons": [REASON_LABELS.get(code, code) for code in decision.reasons],
                "extra": decision.extra,
            }
        )
    return votes


def _outcome(adjudication: Adjudication) -> str:
    if adjudication.verdict == Verdict.REJECT:
        return "Rejected"
    if adjudication.verdict == Verdict.EDIT:
        return "Accepted with the senior's own text"
    return "Accepted a reviewer's edit" if adjudication.revision_id else "Accepted the original text"


def settled_by_adjudication(*, limit: int = 50) -> list[dict]:
    """The latest settled disagreements: the outcome, who settled each and why, newest first."""
    adjudications = Adjudication.objects.select_related("item__candidate__domain", "adjudicator").order_by(
        "-created_at", "-pk"
    )[:limit]
    return [
        {
            "item": adjudication.item,
            "outcome": _outcome(adjudication),
            "by": adjudication.adjudicator.get_username(),
            "at": adjudication.created_at,
            "why": adjudication.comment,
        }
        for adjudication in adjudications
    ]


def disputed_items(*, adjudicator, limit: int = 200) -> dict:
    """The adjudication list's context: the oldest disputed items, each with why it is disputed and
    who voted what, the ones `adjudicator` reviewed themselves (another senior settles those), and
    the latest settled ones."""
    items = list(adjudication_queue()[:limit])
    reviewed_by_me = set(
        Decision.history.filter(reviewer=adjudicator, item__in=items).values_list("item_id", flat=True)
    )
    ids = [item.pk for item in items]
    why, votes = dispute_reasons(ids), _votes(ids)
    for item in items:
        item.dispute = why.get(item.pk, "")
        item.votes = votes.get(item.pk, [])
    return {"items": items, "reviewed_by_me": reviewed_by_me, "settled": settled_by_adjudication()}


def next_disputed_item(*, adjudicator, after: int) -> ReviewItem | None:
    """The disputed item to open after settling `after`: the next one this adjudicator may settle
    (not one they reviewed), else the first such one; None when none is left."""
    mine = Decision.history.filter(reviewer=adjudicator).values("item_id")
    open_to_me = adjudication_queue().exclude(pk__in=mine)
    return open_to_me.filter(pk__gt=after).first() or open_to_me.first()
