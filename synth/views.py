"""Administrators' pages for generation runs: launch, watch, cancel."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from synth.forms import LaunchRunForm
from synth.generation import GenerationError, cancel_run, launch_run
from synth.models import GenerationRun
from synth.roles import role_required

LAUNCH = "synth.launch_run"


@require_GET
@role_required(LAUNCH)
def run_list(request: HttpRequest) -> HttpResponse:
    runs = GenerationRun.objects.select_related("teacher").prefetch_related("domains")[:100]
    return render(request, "synth/run_list.html", {"runs": runs})


@require_http_methods(["GET", "POST"])
@role_required(LAUNCH)
def run_new(request: HttpRequest) -> HttpResponse:
    form = LaunchRunForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = launch_run(
                teacher=form.cleaned_data["teacher"],
                technique=form.cleaned_data["technique"],
                requested_count=form.cleaned_data["requested_count"],
                sample_rate=form.cleaned_data["sample_percent"] / 100,
                domains=list(form.cleaned_data["domains"]),
                created_by=request.user,
            )
        except GenerationError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Run {run.pk} is queued.")
            return redirect("synth:run_detail", pk=run.pk)
    status = 422 if form.errors else 200
    return render(request, "synth/run_new.html", {"form": form}, status=status)


@require_GET
@role_required(LAUNCH)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(GenerationRun.objects.select_related("teacher"), pk=pk)
    template = "synth/run_detail.html"
    if request.htmx:
        template += "#progress"
    return render(request, template, {"run": run})


@require_POST
@role_required(LAUNCH)
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(GenerationRun, pk=pk)
    if cancel_run(run):
        messages.info(request, f"Run {run.pk} was cancelled; what it generated so far is kept.")
    else:
        messages.warning(request, f"Run {run.pk} had already finished.")
    return redirect("synth:run_detail", pk=run.pk)
