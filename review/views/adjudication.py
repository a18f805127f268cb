"""Senior physicians settle items whose reviewers disagree, seeing every verdict and edit."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from review.diff import edit_diff
from review.forms import AdjudicationForm
from review.models import Decision, Preference, ReviewItem
from review.queue import ReviewError, adjudicate, adjudication_queue, adjudication_scope, current_version
from synth.roles import role_required

ADJUDICATE = "review.adjudicate_item"


def _detail_context(item: ReviewItem, **extra) -> dict:
    candidate = item.candidate
    number, instruction, task_input, output = current_version(item)
    original = {"instruction": candidate.instruction, "input": candidate.input, "output": candidate.output}
    decisions = []
    for decision in item.decisions.select_related("reviewer", "revision").order_by("created_at"):
        diff = []
        if decision.revision is not None:
            before = dict(original)
            if decision.preference == Preference.REJECTED_OUTPUT:
                before["output"] = candidate.rejected_output
            revision = decision.revision
            after = {"instruction": revision.instruction, "input": revision.input, "output": revision.output}
            diff = edit_diff(before=before, after=after)
        decisions.append({"decision": decision, "diff": diff})
    return {
        "item": item,
        "candidate": candidate,
        "decisions": decisions,
        "version": {"number": number, "instruction": instruction, "input": task_input, "output": output},
        "pair_choices": [
            (Preference.OUTPUT, "Judge's preferred response"),
            (Preference.REJECTED_OUTPUT, "Judge's other response"),
            (Preference.TIE, "Tie"),
        ],
        "form_data": {},
        **extra,
    }


@require_GET
@role_required(ADJUDICATE)
def adjudication_list(request: HttpRequest) -> HttpResponse:
    items = list(adjudication_queue()[:200])
    reviewed_by_me = set(
        Decision.history.filter(reviewer=request.user, item__in=items).values_list("item_id", flat=True)
    )
    return render(request, "review/adjudication.html", {"items": items, "reviewed_by_me": reviewed_by_me})


@require_http_methods(["GET", "POST"])
@role_required(ADJUDICATE)
def adjudication_item(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(adjudication_scope().select_related("candidate__domain"), pk=pk)
    if request.method == "GET":
        return render(request, "review/adjudicate.html", _detail_context(item))
    form = AdjudicationForm(request.POST)
    form.is_valid()
    data = form.cleaned_data
    try:
        adjudicate(
            adjudicator=request.user,
            item_id=item.pk,
            verdict=data.get("verdict", ""),
            preference=data.get("preference", ""),
            instruction=data.get("instruction"),
            task_input=data.get("input"),
            output=data.get("output"),
            based_on=data.get("based_on"),
            comment=data.get("comment", ""),
            revision_id=data.get("revision"),
        )
    except ReviewError as error:
        context = _detail_context(item, error=str(error), form_data=request.POST)
        return render(request, "review/adjudicate.html", context, status=422)
    return redirect("review:adjudication_list")
