"""The physician's review page: one item at a time, decided without a full reload."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from review.diff import edit_diff
from review.forms import DecisionForm, DraftForm
from review.models import Preference, RejectReason, ReviewDraft, ReviewerGuideline, ReviewItem
from review.queue import (
    NotYours,
    ReviewError,
    claim_next,
    current_version,
    held_draft,
    left_in_queue,
    mark_shown,
    original_output,
    prefetch_next,
    progress,
    save_draft,
    submit_decision,
    undo_last_decision,
)
from synth.roles import role_required

REVIEW = "review.review_item"
TEMPLATE = "review/review.html"


class ReviewerRequest(HttpRequest):
    user: AbstractBaseUser
    htmx: HtmxDetails


def _draft_data(draft: ReviewDraft) -> dict:
    return {
        "instruction": draft.instruction,
        "input": draft.input,
        "output": draft.output,
        "reasons": draft.reasons,
        "comment": draft.comment,
        "preference": draft.preference,
    }


def _plain(data) -> dict:
    """Posted fields (a QueryDict) or a restored draft, as one plain dict with `reasons` a list."""
    if data is None:
        return {}
    if hasattr(data, "getlist"):
        return {**{key: data.get(key) for key in data}, "reasons": data.getlist("reasons")}
    return dict(data)


def _responses(item: ReviewItem) -> list[dict]:
    """A pair's two responses as A and B, in the order drawn for this reviewer at claim time."""
    candidate = item.candidate
    shown = [(Preference.OUTPUT, candidate.output), (Preference.REJECTED_OUTPUT, candidate.rejected_output)]
    if item.assignment.pair_swapped:
        shown.reverse()
    return [
        {"label": label, "value": value, "text": text}
        for label, (value, text) in zip("AB", shown, strict=True)
    ]


def _page_context(
    request: ReviewerRequest, *, error: str = "", notice: str = "", form_data=None, open_panel: str = ""
) -> dict:
    item = claim_next(request.user)
    today, undoable = progress(request.user)
    context = {
        "reviewed_today": today,
        "undoable": undoable,
        "item": item,
        "error": error,
        "notice": notice,
        "reject_reasons": RejectReason.choices,
        "left": left_in_queue(request.user, nothing_claimable=item is None),
        "draft_restored": False,
    }
    if item is None:
        context["form_data"] = {}
        return context
    assignment = item.assignment
    mark_shown(assignment)
    number, instruction, task_input, output = current_version(item)
    version = {"number": number, "instruction": instruction, "input": task_input, "output": output}
    if form_data is None:
        draft = held_draft(assignment)
        if draft is not None:
            form_data, open_panel = _draft_data(draft), draft.panel
            context["draft_restored"] = True
    form_data = _plain(form_data)
    preference = form_data.get("preference", "")
    if item.candidate.is_pair:
        context["responses"] = _responses(item)
    edit_before = {**version, "output": original_output(item, preference, current_output=output)}
    edit_values = {
        name: form_data.get(name) or edit_before[name] for name in ("instruction", "input", "output")
    }
    reasons = form_data.get("reasons", [])
    context.update(
        assignment=assignment,
        version=version,
        form_data=form_data,
        edit_values=edit_values,
        chosen_reasons=reasons,
        preference=preference,
        open_panel=open_panel,
        diff=edit_diff(before=edit_before, after=edit_values),
    )
    return context


def _item_response(request: ReviewerRequest, context: dict, status: int = 200) -> HttpResponse:
    template = TEMPLATE + "#item" if request.htmx else TEMPLATE
    return render(request, template, context, status=status)


@never_cache  # the page holds the reviewer's key to their kept work: not for the browser's cache
@require_GET
@role_required(REVIEW)
def review_page(request: ReviewerRequest) -> HttpResponse:
    return render(request, TEMPLATE, _page_context(request))


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
        "comment": data.get("comment", ""),
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
    try:
        decision = submit_decision(reviewer=request.user, assignment_id=pk, **_decision_fields(form))
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
    return render(request, TEMPLATE + "#item", _page_context(request, notice=notice))


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
    item = saved.assignment.item
    _, instruction, task_input, output = current_version(item)
    before = {
        "instruction": instruction,
        "input": task_input,
        "output": original_output(item, saved.preference, current_output=output),
    }
    after = {"instruction": saved.instruction, "input": saved.input, "output": saved.output}
    context.update(saved_at=saved.updated_at, diff=edit_diff(before=before, after=after))
    return render(request, TEMPLATE + "#draft-status", context)


@require_POST
@role_required(REVIEW)
def prefetch(request: ReviewerRequest) -> HttpResponse:
    """Claim the next item while the reviewer reads this one."""
    prefetch_next(request.user)
    return HttpResponse(status=204)


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


@require_GET
@role_required(REVIEW)
def guidelines(request: ReviewerRequest) -> HttpResponse:
    return render(request, "review/guidelines.html", {"guideline": ReviewerGuideline.objects.first()})
