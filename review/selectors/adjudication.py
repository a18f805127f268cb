"""What the adjudication pages read: the disputed items, and which items an adjudicator may open."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from review.adjudication_detail import dispute_reasons
from review.models import Adjudication, Decision, ReviewItem


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


def disputed_items(*, adjudicator, limit: int = 200) -> dict:
    """The adjudication list's context: the oldest disputed items, each with why it is disputed, and
    the ones `adjudicator` reviewed themselves (another senior settles those)."""
    items = list(adjudication_queue()[:limit])
    reviewed_by_me = set(
        Decision.history.filter(reviewer=adjudicator, item__in=items).values_list("item_id", flat=True)
    )
    why = dispute_reasons([item.pk for item in items])
    for item in items:
        item.dispute = why.get(item.pk, "")
    return {"items": items, "reviewed_by_me": reviewed_by_me}
