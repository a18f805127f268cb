"""Administrators' pages for generation runs: launch, watch, cancel."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.roles import role_required
from core.uploads import oversized_message
from synth.forms import DocumentForm, DocumentUploadForm, LaunchRunForm, QueryUploadForm
from synth.generation import GenerationError, cancel_run, estimate_cost, launch_run
from synth.models import GenerationRun, Query, QuerySet, RunChunk, SourceDocument, Teacher
from synth.review_sample import rule_that_will_apply
from synth.selectors import left_out_texts, relaunch_initial, run_outcomes
from synth.techniques.documents import (
    DocumentError,
    DocumentFile,
    DocumentImportError,
    add_document,
    import_documents,
)
from synth.techniques.queries import QueryImportError, import_queries, import_query_file

LAUNCH = "synth.launch_run"


@require_GET
@role_required(LAUNCH)
def run_list(request: HttpRequest) -> HttpResponse:
    runs = GenerationRun.objects.select_related("teacher").prefetch_related("domains")[:100]
    return render(request, "synth/run_list.html", {"runs": runs})


@require_http_methods(["GET", "POST"])
@role_required(LAUNCH)
def run_new(request: HttpRequest) -> HttpResponse:
    """The launch form; `?from=<run>` fills it with that run's settings (nothing is launched until submitted)."""
    initial, copied_from, copy_error = {}, None, ""
    if request.method == "GET" and "from" in request.GET:
        source = request.GET["from"]
        copied_from = GenerationRun.objects.filter(pk=int(source)).first() if source.isdigit() else None
        if copied_from is None:
            copy_error = f"There is no run '{source}' to copy: the form shows the usual defaults."
        else:
            initial = relaunch_initial(run=copied_from)
    form = LaunchRunForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            run = launch_run(
                teacher=form.cleaned_data["teacher"],
                technique=form.cleaned_data["technique"],
                requested_count=form.cleaned_data["requested_count"],
                sample_rate=form.cleaned_data["sample_percent"] / 100,
                domains=list(form.cleaned_data["domains"]),
                options=form.options(),
                fill_gaps=form.cleaned_data["fill_gaps"],
                use_batch_api=form.cleaned_data["use_batch_api"],
                created_by=request.user,
            )
        except GenerationError as error:
            form.add_error(None, str(error))
        else:
            # No "queued" message: the run page shows the run's status as it changes.
            return redirect("synth:run_detail", pk=run.pk)
    status = 422 if form.errors else 200
    context = {
        "form": form,
        "estimate": _estimate(form),
        "sampling_rule": _sampling_rule(form),
        "copied_from": copied_from,
        "copy_error": copy_error,
    }
    return render(request, "synth/run_new.html", context, status=status)


@require_GET
@role_required(LAUNCH)
def run_estimate(request: HttpRequest) -> HttpResponse:
    """The launch form's cost estimate, refreshed by htmx as the form changes, with the sampling rule
    that will apply (swapped out of band: it follows the share typed in)."""
    form = LaunchRunForm(request.GET)
    form.is_valid()
    estimate = render_to_string("synth/run_new.html#estimate", {"estimate": _estimate(form)}, request)
    rule = render_to_string(
        "synth/run_new.html#sampling_rule", {"sampling_rule": _sampling_rule(form), "oob": True}, request
    )
    return HttpResponse(estimate + rule)


def _sampling_rule(form: LaunchRunForm) -> dict:
    """The rule that will send the run's candidates to physicians: a policy, or the share typed in."""
    data = form.cleaned_data if hasattr(form, "cleaned_data") else {}
    percent = data.get("sample_percent")
    if percent is None:
        percent = form.initial.get("sample_percent", form.fields["sample_percent"].initial)
    return rule_that_will_apply(sample_rate=percent / 100)


def _estimate(form: LaunchRunForm):
    data = form.cleaned_data if hasattr(form, "cleaned_data") else {}
    teacher, technique = data.get("teacher"), data.get("technique")
    count = data.get("requested_count") or (
        form.initial.get("requested_count") if not form.is_bound else None
    )
    if not form.is_bound:
        initial = form.initial
        teacher = Teacher.objects.filter(pk=initial.get("teacher")).first() or Teacher.objects.first()
        technique, count = initial.get("technique", "self_instruct"), initial.get("requested_count", 20)
        data = {"use_batch_api": initial.get("use_batch_api", False)}
    if not (teacher and technique and count):
        return None
    batch = bool(data.get("use_batch_api"))
    return {
        "teacher": teacher,
        "count": count,
        "batch": batch,
        **vars(
            estimate_cost(teacher=teacher, technique=technique, requested_count=count, use_batch_api=batch)
        ),
    }


@require_GET
@role_required(LAUNCH)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(GenerationRun.objects.select_related("teacher"), pk=pk)
    template = "synth/run_detail.html"
    if request.htmx:
        template += "#progress"
    context = {
        "run": run,
        "sampling_rule": None
        if run.sampling_rules
        else rule_that_will_apply(run=run, sample_rate=run.sample_rate),
        "chunks_total": run.chunks.count(),
        "chunks_done": run.chunks.filter(status=RunChunk.Status.DONE).count(),
        "batches": run.batches.select_related("chunk", "teacher") if run.use_batch_api else [],
        "outcomes": run_outcomes(run=run),
    }
    return render(request, template, context)


@require_GET
@role_required(LAUNCH)
def run_texts(request: HttpRequest, pk: int) -> HttpResponse:
    """The texts behind one of the run page's counts (filtered, held back, dropped, failed), by reason."""
    run = get_object_or_404(GenerationRun.objects.select_related("teacher"), pk=pk)
    context = left_out_texts(run=run, params=request.GET)
    return render(request, "synth/run_texts.html", context, status=400 if context["error"] else 200)


@require_POST
@role_required(LAUNCH)
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(GenerationRun, pk=pk)
    if not cancel_run(run):  # a cancelled run says so on its page, from its status
        messages.warning(request, f"Run {run.pk} had already finished.")
    return redirect("synth:run_detail", pk=run.pk)


@require_http_methods(["GET", "POST"])
@role_required(LAUNCH)
def query_sets(request: HttpRequest) -> HttpResponse:
    """Upload a query set (JSON Lines or CSV) or type one in; a bad file is refused whole, line by line."""
    form = QueryUploadForm(
        request.POST or None, request.FILES or None, oversized=getattr(request, "oversized_uploads", None)
    )
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload:
                query_set = import_query_file(
                    name=form.cleaned_data["name"],
                    file_name=upload.name,
                    data=upload.read(),
                    created_by=request.user,
                )
            else:
                query_set = import_queries(
                    name=form.cleaned_data["name"],
                    content=form.cleaned_data["typed"],
                    format="lines",
                    created_by=request.user,
                )
        except QueryImportError as error:
            problems = error.problems
        else:
            size, held = query_set.queries.count(), query_set.queries.filter(held_back=True).count()
            if held:
                messages.warning(
                    request,
                    f"Query set '{query_set.name}' added with {size} queries; {held} held back: the PHI "
                    "screen found identifiers in them (listed below). They are never sent to a teacher.",
                )
            else:
                messages.success(request, f"Query set '{query_set.name}' added with {size} queries.")
            return redirect("synth:query_sets")
    context = {
        "form": form,
        "problems": problems,
        "query_sets": QuerySet.objects.annotate(
            size=Count("queries"), held=Count("queries", filter=Q(queries__held_back=True))
        ),
        "held_back": Query.objects.filter(held_back=True).select_related("query_set")[:200],
    }
    return render(request, "synth/query_sets.html", context, status=422 if problems or form.errors else 200)


@require_http_methods(["GET", "POST"])
@role_required(LAUNCH)
def documents(request: HttpRequest) -> HttpResponse:
    """Add a de-identified document (typed in, or files); one with PHI findings is held back, listed."""
    form = DocumentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            document = add_document(
                title=form.cleaned_data["title"],
                text=form.cleaned_data["text"],
                domain=form.cleaned_data["domain"],
                created_by=request.user,
            )
        except DocumentError as error:
            form.add_error(None, str(error))
        else:
            if document.held_back:
                messages.warning(
                    request, f"'{document.title}' is held back: the PHI screen found identifiers."
                )
            else:
                messages.success(request, f"'{document.title}' was added.")
            return redirect("synth:documents")
    return _documents_page(request, form=form, upload_form=DocumentUploadForm(auto_id="id_upload_%s"))


@require_POST
@role_required(LAUNCH)
def documents_upload(request: HttpRequest) -> HttpResponse:
    """Upload documents as files, several at once: all are stored, each PHI-screened, or none."""
    upload_form = DocumentUploadForm(request.POST, request.FILES, auto_id="id_upload_%s")
    problems = [oversized_message(name) for name in getattr(request, "oversized_uploads", [])]
    if upload_form.is_valid() and not problems:
        files = [DocumentFile(f.name, f.read()) for f in request.FILES.getlist("files")]
        try:
            added = import_documents(
                files=files, domain=upload_form.cleaned_data["domain"], created_by=request.user
            )
        except DocumentImportError as error:
            problems = error.problems
        else:
            held = sum(document.held_back for document in added)
            said = f"{len(added)} document{'s' if len(added) != 1 else ''} added"
            if held:
                messages.warning(request, f"{said}; {held} held back: the PHI screen found identifiers.")
            else:
                messages.success(request, f"{said}; the PHI screen found nothing.")
            ids = ",".join(str(document.pk) for document in added)
            return redirect(f"{reverse('synth:documents')}?added={ids}")
    return _documents_page(request, form=DocumentForm(), upload_form=upload_form, problems=problems)


def _documents_page(
    request: HttpRequest, *, form: DocumentForm, upload_form: DocumentUploadForm, problems: list[str] = ()
) -> HttpResponse:
    added_ids = [int(pk) for pk in request.GET.get("added", "").split(",") if pk.isdigit()][:500]
    context = {
        "form": form,
        "upload_form": upload_form,
        "problems": problems,
        "added": SourceDocument.objects.filter(pk__in=added_ids).select_related("domain").order_by("pk"),
        "documents": SourceDocument.objects.select_related("domain")[:200],
    }
    failed = problems or form.errors or upload_form.errors
    return render(request, "synth/documents.html", context, status=422 if failed else 200)
