"""The data lead's batch pages: each batch's reviewed sample, its acceptance rate, and release."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from review.batches import batch_summary, release_batch
from review.models import Batch
from review.queue import ReviewError
from synth.roles import role_required

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


@require_POST
@role_required(RELEASE)
def batch_release(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        release_batch(batch_id=pk, user=request.user)
    except ReviewError as error:
        batch = get_object_or_404(Batch, pk=pk)
        return render(
            request, "review/batch.html", {"summary": batch_summary(batch), "error": str(error)}, status=422
        )
    messages.success(
        request, "The unreviewed remainder of the batch is released: exports mark it released, not reviewed."
    )
    return redirect("review:batch_detail", pk=pk)
