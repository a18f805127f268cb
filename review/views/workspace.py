"""A reviewer's own pages: My reviews (their decisions, each open to revise), their questions to the
senior physicians, and their figures."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.roles import role_required
from review.forms import MyReviewsFilterForm, RevisionForm
from review.models import Decision
from review.queue.decisions import revise_decision, revision_refusal
from review.queue.discussions import resume_discussed
from review.queue.errors import NotYours, ReviewError
from review.selectors.workspace import (
    DecisionFilters,
    decision_detail,
    my_decisions,
    my_discussions,
    reviewer_figures,
)

REVIEW = "review.review_item"
PAGE_SIZE = 50


@require_GET
@role_required(REVIEW)
def my_reviews(request: HttpRequest) -> HttpResponse:
    form = MyReviewsFilterForm(request.GET or None)
    filters = DecisionFilters()
    if form.is_bound:
        form.is_valid()  # a bad filter is named on the page and left off; the others apply
        filters = DecisionFilters(**form.filters())
    page = Paginator(my_decisions(reviewer=request.user, filters=filters), PAGE_SIZE).get_page(
        request.GET.get("page", "1")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "review/my_reviews.html", {"form": form, "page": page, "query": query.urlencode()})


def _my_decision(request: HttpRequest, pk: int) -> Decision:
    """One of the user's own decisions (an undone or superseded one too); anyone else's is a 404."""
    decision = (
        Decision.history.filter(pk=pk, reviewer=request.user)
        .select_related("item__candidate__domain", "revision", "supersedes")
        .first()
    )
    if decision is None:
        raise Http404("This is not one of your decisions.")
    return decision


@require_http_methods(["GET", "POST"])
@role_required(REVIEW)
def my_decision(request: HttpRequest, pk: int) -> HttpResponse:
    decision = _my_decision(request, pk)
    if request.method == "GET":
        return render(
            request,
            "review/my_decision.html",
            decision_detail(decision, refusal=revision_refusal(decision)),
        )
    form = RevisionForm(request.POST)
    form.is_valid()
    data = form.cleaned_data
    try:
        revised = revise_decision(
            reviewer=request.user,
            decision_id=decision.pk,
            verdict=data.get("verdict", ""),
            reasons=data.get("reasons", []),
            comment=data.get("comment", ""),
            instruction=data.get("instruction"),
            task_input=data.get("input"),
            output=data.get("output"),
            preference=data.get("preference", ""),
        )
    except ReviewError as error:
        decision = _my_decision(request, pk)
        context = decision_detail(decision, refusal=revision_refusal(decision))
        context.update(
            error=str(error), form_data=request.POST, chosen_reasons=request.POST.getlist("reasons")
        )
        return render(request, "review/my_decision.html", context, status=422)
    item = revised.item
    messages.success(
        request,
        f"Your decision on item #{item.pk} is now: {revised.get_verdict_display().lower()}. The earlier one "
        f"stays on record, superseded. The item is now: {item.get_status_display().lower()}.",
    )
    return redirect("review:my_decision", pk=revised.pk)


@require_GET
@role_required(REVIEW)
def discussions(request: HttpRequest) -> HttpResponse:
    return render(request, "review/my_discussions.html", my_discussions(reviewer=request.user))


@require_POST
@role_required(REVIEW)
def resume(request: HttpRequest, pk: int) -> HttpResponse:
    """Take an answered item back to decide it: it is the next item on the review page."""
    try:
        assignment = resume_discussed(reviewer=request.user, discussion_id=pk)
    except NotYours as error:
        raise Http404(str(error)) from error
    except ReviewError as error:
        messages.error(request, str(error))
        return redirect("review:my_discussions")
    answered = assignment.discussions.exclude(answered_at=None).order_by("-answered_at").first()
    messages.info(
        request,
        f"Item #{assignment.item_id}, the senior physicians' answer: “{answered.answer}” Decide it now.",
    )
    return redirect("review:review")


@require_GET
@role_required(REVIEW)
def figures(request: HttpRequest) -> HttpResponse:
    return render(
        request, "review/figures.html", {"rows": [reviewer_figures(reviewer=request.user)], "own": True}
    )
