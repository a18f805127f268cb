"""The data lead's pages: funnel and agreement charts, and exports (created, followed, downloaded)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from core.roles import role_required
from review.exports.build import ExportError, export_file_type, export_files, export_folder, request_export
from review.exports.preview import preview_export
from review.forms import ExportForm
from review.models import Export
from review.selectors.dashboard import dashboard_overview, pair_comparison, recent_exports

TEMPLATE = "review/dashboard.html"


def _exports_context(**extra) -> dict:
    return {**recent_exports(), "export_form": extra.pop("export_form", None) or ExportForm(), **extra}


@require_GET
@role_required("review.view_dashboard")
def dashboard(request: HttpRequest) -> HttpResponse:
    if request.htmx and request.GET.get("part") == "exports":  # the list polls while an export builds
        return render(request, TEMPLATE + "#export-list", _exports_context())
    pair_key = request.GET.get("pair")
    if request.htmx and request.GET.get("part") == "pair":
        return render(request, TEMPLATE + "#pair", pair_comparison(pair_key=pair_key))
    return render(request, TEMPLATE, {**dashboard_overview(pair_key=pair_key), "export_form": ExportForm()})


@require_POST
@role_required("review.export_data")
def export_create(request: HttpRequest) -> HttpResponse:
    form = ExportForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            request_export(**form.export_settings(), created_by=request.user)
        except ExportError as exc:
            error = str(exc)
    else:
        problems = "; ".join(f"{form.fields[f].label or f}: {' '.join(e)}" for f, e in form.errors.items())
        error = f"Check the export settings: {problems}"
    if not request.htmx:
        return redirect("review:dashboard")
    context = _exports_context(export_error=error, export_form=form if error else None)
    return render(request, TEMPLATE + "#exports", context, status=422 if error else 200)


@require_GET
@role_required("review.export_data")
def export_preview(request: HttpRequest) -> HttpResponse:
    """The export the form's settings would make: its count and first records, before it is made."""
    form = ExportForm(request.GET)
    preview, error = None, ""
    if form.is_valid():
        try:
            preview = preview_export(**form.export_settings())
        except ExportError as exc:
            error = str(exc)
    else:
        problems = "; ".join(f"{form.fields[f].label or f}: {' '.join(e)}" for f, e in form.errors.items())
        error = f"Check the export settings: {problems}"
    return render(request, TEMPLATE + "#export-preview", {"preview": preview, "preview_error": error})


def _ready_export(pk: int) -> tuple[Export, Path]:
    export = get_object_or_404(Export, pk=pk, status=Export.Status.READY)
    folder = export_folder(export)
    if not folder.is_dir():
        raise Http404("The export's files are missing on the server.")
    return export, folder


def _attachment(response: HttpResponse) -> HttpResponse:
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


class _Pipe:
    """A write-only stream that hands what was written to a generator: zip output is sent as it is made."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data


def _zip_stream(folder: Path, names: list[str], root: str) -> Iterator[bytes]:
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for name in names:
            info = zipfile.ZipInfo.from_file(folder / name, arcname=f"{root}/{name}")
            info.compress_type = zipfile.ZIP_DEFLATED
            with (folder / name).open("rb") as source, archive.open(info, "w", force_zip64=True) as target:
                while chunk := source.read(1 << 20):
                    target.write(chunk)
                    yield pipe.take()
        yield pipe.take()
    yield pipe.take()


@require_GET
@role_required("review.export_data")
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The whole export folder as a zip, streamed as it is compressed (memory stays flat)."""
    export, folder = _ready_export(pk)
    root = folder.name
    response = StreamingHttpResponse(
        _zip_stream(folder, export_files(export), root), content_type="application/zip"
    )
    response["Content-Disposition"] = f'attachment; filename="{root}.zip"'
    return _attachment(response)


@require_GET
@role_required("review.export_data")
def export_file(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """One file of an export, as its manifest lists it."""
    export, folder = _ready_export(pk)
    if name not in export_files(export):
        raise Http404("This export has no such file.")
    content_type = export_file_type(export, name)
    response = FileResponse(
        (folder / name).open("rb"), as_attachment=True, filename=Path(name).name, content_type=content_type
    )
    return _attachment(response)
