"""The physician's review page: one item at a time, decided without a full reload."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from review.forms import DecisionForm
from review.models import Assignment, RejectReason
from review.queue import (
    ReviewError,
    claim_next,
    current_version,
    left_in_queue,
    reviewed_today,
    submit_decision,
)
from synth.roles import role_required

REVIEW = "review.review_item"
TEMPLATE = "review/review.html"


def _page_context(request: HttpRequest, *, error: str = "", form_data=None, open_panel: str = "") -> dict:
    item = claim_next(request.user)
    context = {
        "item": item,
        "error": error,
        "form_data": form_data or {},
        "open_panel": open_panel,
        "reject_reasons": RejectReason.choices,
        "reviewed_today": reviewed_today(request.user),
        "left_in_queue": left_in_queue(request.user),
    }
    if item is not None:
        context["assignment"] = Assignment.objects.get(item=item, reviewer=request.user)
        context["version"] = dict(
            zip(("number", "instruction", "input", "output"), current_version(item), strict=True)
        )
    return context


@require_GET
@role_required(REVIEW)
def review_page(request: HttpRequest) -> HttpResponse:
    return render(request, TEMPLATE, _page_context(request))


@require_POST
@role_required(REVIEW)
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    form = DecisionForm(request.POST)
    form.is_valid()  # every field is optional; the queue says what a valid decision is
    data = form.cleaned_data
    try:
        submit_decision(
            reviewer=request.user,
            assignment_id=pk,
            verdict=data.get("verdict", ""),
            reasons=data.get("reasons", []),
            comment=data.get("comment", ""),
            instruction=data.get("instruction"),
            task_input=data.get("input"),
            output=data.get("output"),
            based_on=data.get("based_on"),
        )
    except ReviewError as error:
        context = _page_context(
            request, error=str(error), form_data=request.POST, open_panel=data.get("verdict", "")
        )
        template = TEMPLATE + "#item" if request.htmx else TEMPLATE
        return render(request, template, context, status=422)
    if not request.htmx:
        return redirect("review:review")
    return render(request, TEMPLATE + "#item", _page_context(request))
