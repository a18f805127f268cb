"""Senior physicians answer reviewers' questions ("flag for discussion"); the reviewer then decides."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from core.roles import role_required
from review.forms import AnswerForm
from review.queue.discussions import answer_discussion
from review.queue.errors import NotYours, ReviewError
from review.selectors.workspace import open_discussions

ADJUDICATE = "review.adjudicate_item"
TEMPLATE = "review/discussions.html"


@require_GET
@role_required(ADJUDICATE)
def discussion_list(request: HttpRequest) -> HttpResponse:
    return render(request, TEMPLATE, open_discussions(senior=request.user))


@require_POST
@role_required(ADJUDICATE)
def answer(request: HttpRequest, pk: int) -> HttpResponse:
    form = AnswerForm(request.POST)
    form.is_valid()
    try:
        answered = answer_discussion(
            senior=request.user, discussion_id=pk, answer=form.cleaned_data.get("answer", "")
        )
    except NotYours as error:
        raise Http404(str(error)) from error
    except ReviewError as error:
        context = {**open_discussions(senior=request.user), "error": str(error), "error_for": pk}
        return render(request, TEMPLATE, context, status=422)
    messages.success(request, f"Your answer on item #{answered.item_id} went back to its reviewer.")
    return redirect("review:discussion_list")
