"""The physician's review page: one item at a time, decided without a full reload."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from core.roles import role_required
from review.forms import DecisionForm, DraftForm, QuestionForm, SkipForm
from review.models import ReviewerGuideline
from review.queue.claims import show_next, skip_item
from review.queue.decisions import save_and_next, submit_decision, undo_last_decision
from review.queue.discussions import flag_for_discussion
from review.queue.drafts import save_draft
from review.queue.errors import NotYours, ReviewError
from review.selectors.reviewing import draft_diff, review_workspace

REVIEW = "review.review_item"
TEMPLATE = "review/review.html"


class ReviewerRequest(HttpRequest):
    user: AbstractBaseUser
    htmx: HtmxDetails


def _page_context(request: ReviewerRequest, **shown) -> dict:
    """Show the reviewer their next item (claiming it if they hold none) and read the page around it."""
    item = show_next(request.user)
    return review_workspace(reviewer=request.user, item=item, **shown)


def _item_response(request: ReviewerRequest, context: dict, status: int = 200) -> HttpResponse:
    if request.htmx:
        return render(request, TEMPLATE + "#item", context, status=status)
    return _full_page(request, context, status=status)


def _full_page(request: ReviewerRequest, context: dict, status: int = 200) -> HttpResponse:
    """The whole page: the item, and the guidelines its side panel opens (G) without leaving it."""
    context = {**context, "guideline": ReviewerGuideline.objects.first()}
    return render(request, TEMPLATE, context, status=status)


@never_cache  # the page holds the reviewer's key to their kept work: not for the browser's cache
@require_GET
@role_required(REVIEW)
def review_page(request: ReviewerRequest) -> HttpResponse:
    return _full_page(request, _page_context(request))


def _decision_fields(form: DecisionForm) -> dict:
    data = form.cleaned_data
    based_on = data.get("based_on")
    if "based_on" in form.errors:
        # Not a version number (e.g. -1 or "abc"): passed on as sent, so an edit is refused naming it
        # rather than stored without its stale-edit check.
        based_on = str(form.data.get("based_on", ""))[:20]
    return {
        "verdict": data.get("verdict", ""),
        "reasons": data.get("reasons", []),
        "comment": "\n\n".join(part for part in (data.get("comment"), data.get("note")) if part),
        "instruction": data.get("instruction"),
        "task_input": data.get("input"),
        "output": data.get("output"),
        "based_on": based_on,
        "preference": data.get("preference", ""),
    }


def _phi_notice(decision) -> str:
    """What a reviewer is told when their edit still holds possible PHI: it is kept, and held back."""
    revision = decision.revision
    if revision is None or not revision.has_phi:
        return ""
    where = sorted({f"{f['field_label']}: {f['label'].lower()}" for f in revision.phi_findings})
    return (
        f"Your edit of item #{decision.item_id} was saved, but its text still has possible PHI "
        f"({'; '.join(where)}). The item stays held back and out of exports; undo your decision to "
        "remove it."
    )


@never_cache
@require_POST
@role_required(REVIEW)
def decide(request: ReviewerRequest, pk: int) -> HttpResponse:
    form = DecisionForm(request.POST)
    form.is_valid()  # every field is optional; the queue says what a valid decision is
    data = form.cleaned_data
    fields = _decision_fields(form)
    try:
        if request.htmx:  # answered with the next item
            decision, item = save_and_next(reviewer=request.user, assignment_id=pk, **fields)
        else:  # answered with a redirect to the review page, which shows the next item
            decision, item = submit_decision(reviewer=request.user, assignment_id=pk, **fields), None
    except NotYours as error:
        raise Http404(str(error)) from error
    except ReviewError as error:
        context = _page_context(
            request, error=str(error), form_data=request.POST, open_panel=data.get("verdict", "")
        )
        return _item_response(request, context, status=422)
    notice = _phi_notice(decision)
    if decision.extra:
        notice = (
            f"Your lease on item #{decision.item_id} had expired and another physician took the item "
            f"meanwhile. Your verdict is kept as an extra verdict; theirs settles the item. {notice}"
        ).strip()
    if not request.htmx:
        if notice:
            messages.warning(request, notice)
        return redirect("review:review")
    return render(
        request, TEMPLATE + "#item", review_workspace(reviewer=request.user, item=item, notice=notice)
    )


@require_POST
@role_required(REVIEW)
def draft(request: ReviewerRequest, pk: int) -> HttpResponse:
    """Autosave (htmx, debounced): store the draft and answer with its status and the edit's diff."""
    form = DraftForm(request.POST)
    form.is_valid()
    data = form.cleaned_data
    context: dict = {"draft_error": ""}
    try:
        saved = save_draft(
            reviewer=request.user,
            assignment_id=pk,
            panel=data.get("panel", ""),
            instruction=data.get("instruction") or "",
            task_input=data.get("input") or "",
            output=data.get("output") or "",
            reasons=data.get("reasons", []),
            comment=data.get("comment", ""),
            preference=data.get("preference", ""),
        )
    except NotYours as error:
        raise Http404(str(error)) from error
    except ReviewError as error:
        context["draft_error"] = str(error)
        return render(request, TEMPLATE + "#draft-status", context, status=409)
    # The diff beside the editor is swapped in with the status (out of band): both follow the typing.
    context.update(saved_at=saved.updated_at, diff=draft_diff(saved), diff_oob=True)
    return render(request, TEMPLATE + "#draft-status", context)


@never_cache
@require_POST
@role_required(REVIEW)
def undo(request: ReviewerRequest) -> HttpResponse:
    try:
        undone = undo_last_decision(reviewer=request.user)
    except ReviewError as error:
        return _item_response(request, _page_context(request, error=str(error)), status=422)
    notice = f"Your decision on item #{undone.item_id} was undone (it stays on record). Decide again."
    if not request.htmx:  # also when a key is pressed before htmx has wired the new buttons
        messages.info(request, notice)
        return redirect("review:review")
    return render(request, TEMPLATE + "#item", _page_context(request, notice=notice))


def _next_item(request: ReviewerRequest, notice: str) -> HttpResponse:
    """After a skip or a question: the reviewer's next item (a plain post goes back to the page)."""
    if not request.htmx:
        messages.info(request, notice)
        return redirect("review:review")
    return render(request, TEMPLATE + "#item", _page_context(request, notice=notice))


@never_cache
@require_POST
@role_required(REVIEW)
def skip(request: ReviewerRequest, pk: int) -> HttpResponse:
    """Pass the item on to other reviewers (not my specialty, unsure): not a verdict."""
    form = SkipForm(request.POST)
    form.is_valid()
    try:
        skipped = skip_item(
            reviewer=request.user, assignment_id=pk, reason=form.cleaned_data.get("skip_reason", "")
        )
    except NotYours as error:
        raise Http404(str(error)) from error
    except ReviewError as error:
        context = _page_context(request, error=str(error), form_data=request.POST, open_panel="skip")
        return _item_response(request, context, status=422)
    return _next_item(
        request,
        f"You skipped item #{skipped.item_id} ({skipped.get_skip_reason_display().lower()}): "
        "it goes to another reviewer and will not come back to you.",
    )


@never_cache
@require_POST
@role_required(REVIEW)
def discuss(request: ReviewerRequest, pk: int) -> HttpResponse:
    """Send the item with a question to the senior physicians; it waits for their answer."""
    form = QuestionForm(request.POST)
    form.is_valid()
    try:
        asked = flag_for_discussion(
            reviewer=request.user, assignment_id=pk, question=form.cleaned_data.get("question", "")
        )
    except NotYours as error:
        raise Http404(str(error)) from error
    except ReviewError as error:
        context = _page_context(request, error=str(error), form_data=request.POST, open_panel="discuss")
        return _item_response(request, context, status=422)
    return _next_item(
        request,
        f"Your question on item #{asked.item_id} went to the senior physicians. The item waits for "
        "their answer under Discussions; you decide it then.",
    )


@require_GET
@role_required(REVIEW)
def guidelines(request: ReviewerRequest) -> HttpResponse:
    return render(request, "review/guidelines.html", {"guideline": ReviewerGuideline.objects.first()})
