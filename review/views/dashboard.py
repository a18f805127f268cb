"""The data lead's pages: the pipeline funnel and exports."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from review.exports.base import WRITERS
from review.exports.build import ExportError, export_path, request_export
from review.forms import ExportForm
from review.funnel import pipeline_counts
from review.models import Export
from synth.roles import role_required

TEMPLATE = "review/dashboard.html"


def _exports_context(**extra) -> dict:
    exports = list(Export.objects.select_related("created_by")[:20])
    return {
        "exports": exports,
        "exports_busy": any(e.status in (Export.Status.QUEUED, Export.Status.RUNNING) for e in exports),
        "export_form": ExportForm(),
        **extra,
    }


@require_GET
@role_required("review.view_dashboard")
def dashboard(request: HttpRequest) -> HttpResponse:
    if request.htmx:  # the exports list polls while an export is being built
        return render(request, TEMPLATE + "#exports", _exports_context())
    return render(request, TEMPLATE, {"counts": pipeline_counts(), **_exports_context()})


@require_POST
@role_required("review.export_data")
def export_create(request: HttpRequest) -> HttpResponse:
    form = ExportForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            request_export(**form.cleaned_data, created_by=request.user)
        except ExportError as exc:
            error = str(exc)
    else:
        error = "Choose an export kind and format from the lists."
    if not request.htmx:
        return redirect("review:dashboard")
    return render(
        request, TEMPLATE + "#exports", _exports_context(export_error=error), status=422 if error else 200
    )


@require_GET
@role_required("review.export_data")
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    export = get_object_or_404(Export, pk=pk, status=Export.Status.READY)
    path = export_path(export)
    if not path.exists():
        raise Http404("The export file is missing on the server.")
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=path.name,
        content_type=WRITERS[export.format].content_type,
    )
