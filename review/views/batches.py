"""The data lead's batch pages: each batch's reviewed sample, its acceptance rate, and release."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from core.roles import role_required
from review.batches import batch_summary, release_batch
from review.models import Batch
from review.queue.errors import ReviewError

RELEASE = "review.release_batch"


@require_GET
@role_required(RELEASE)
def batch_list(request: HttpRequest) -> HttpResponse:
    batches = Batch.objects.select_related("run", "released_by").order_by("-created_at")[:100]
    return render(request, "review/batches.html", {"summaries": [batch_summary(b) for b in batches]})


@require_GET
@role_required(RELEASE)
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(Batch.objects.select_related("run", "released_by"), pk=pk)
    return render(request, "review/batch.html", {"summary": batch_summary(batch)})


def _confirmed_count(request: HttpRequest) -> int | None:
    """The record count the data lead confirmed on the confirmation page; None if absent or garbled."""
    try:
        return int(request.POST["confirm"])
    except (KeyError, ValueError):
        return None


@require_http_methods(["GET", "POST"])
@role_required(RELEASE)
def batch_release(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what a release lets out, and a form to confirm it. POST: the confirmed release."""
    if request.method == "GET":
        batch = get_object_or_404(Batch.objects.select_related("run", "released_by"), pk=pk)
        return render(request, "review/batch_release.html", {"summary": batch_summary(batch)})
    try:
        release_batch(batch_id=pk, user=request.user, confirmed_count=_confirmed_count(request))
    except ReviewError as error:
        batch = get_object_or_404(Batch.objects.select_related("run", "released_by"), pk=pk)
        context = {"summary": batch_summary(batch), "error": str(error)}
        return render(request, "review/batch_release.html", context, status=422)
    messages.success(
        request, "The unreviewed remainder of the batch is released: exports mark it released, not reviewed."
    )
    return redirect("review:batch_detail", pk=pk)
