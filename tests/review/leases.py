"""Time passing for leases, as the review tests need it."""

from datetime import timedelta

from django.utils import timezone

from review.models import Assignment, ReviewItem


def let_leases_expire(**which) -> None:
    """What the database looks like once the chosen leases have run out: the leases, and the claim's
    hint of when their items free up, are in the past."""
    past = timezone.now() - timedelta(seconds=1)
    assignments = Assignment.objects.filter(**which)
    ReviewItem.objects.filter(pk__in=assignments.values("item_id"), available_at__gt=past).update(
        available_at=past
    )
    assignments.update(lease_expires_at=past)
