"""Senior physicians settle items whose reviewers disagree, seeing every verdict and every proposed text."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from core.roles import role_required
from review.adjudication_detail import adjudication_detail
from review.forms import AdjudicationForm
from review.queue.adjudication import adjudicate
from review.queue.errors import ReviewError
from review.selectors.adjudication import adjudication_scope, disputed_items, next_disputed_item

ADJUDICATE = "review.adjudicate_item"


@require_GET
@role_required(ADJUDICATE)
def adjudication_list(request: HttpRequest) -> HttpResponse:
    return render(request, "review/adjudication.html", disputed_items(adjudicator=request.user))


def _posted_number(form: AdjudicationForm, name: str):
    """A number field as the queue should judge it: parsed, or (when malformed) the text as sent."""
    if name in form.errors:
        return str(form.data.get(name, ""))[:20]
    return form.cleaned_data.get(name)


@require_http_methods(["GET", "POST"])
@role_required(ADJUDICATE)
def adjudication_item(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(adjudication_scope().select_related("candidate__domain"), pk=pk)
    if request.method == "GET":
        return render(request, "review/adjudicate.html", adjudication_detail(item))
    form = AdjudicationForm(request.POST)
    form.is_valid()
    data = form.cleaned_data
    try:
        if "revision" in form.errors:
            raise ReviewError("That text is not one of this item's: reload the page and choose again.")
        adjudicate(
            adjudicator=request.user,
            item_id=item.pk,
            verdict=data.get("verdict", ""),
            preference=data.get("preference", ""),
            instruction=data.get("instruction"),
            task_input=data.get("input"),
            output=data.get("output"),
            based_on=_posted_number(form, "based_on"),
            comment=data.get("comment", ""),
            revision_id=data.get("revision"),
        )
    except ReviewError as error:
        context = adjudication_detail(item, error=str(error), form_data=request.POST)
        return render(request, "review/adjudicate.html", context, status=422)
    # Settled: on to the next disagreement, as save-and-next does for reviewers.
    following = next_disputed_item(adjudicator=request.user, after=item.pk)
    if following is None:
        messages.success(
            request, f"Item #{item.pk} is settled, and no other disagreement is waiting for you."
        )
        return redirect("review:adjudication_list")
    messages.success(request, f"Item #{item.pk} is settled. This is the next disagreement.")
    return redirect("review:adjudicate", following.pk)
