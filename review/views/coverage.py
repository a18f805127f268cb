"""The coverage report of one run or of everything, for the data lead (templates/review/coverage.html)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from core.roles import role_required
from review.selectors.records import records_url
from synth.models import GenerationRun
from synth.selectors import coverage_section


@require_GET
@role_required("review.view_dashboard")
def coverage(request: HttpRequest) -> HttpResponse:
    run_id = request.GET.get("run", "")
    run = get_object_or_404(GenerationRun, pk=run_id) if run_id.isdigit() else None
    runs = GenerationRun.objects.order_by("-pk").values_list("pk", flat=True)[:50]
    context = {
        "run": run,
        "runs": runs,
        "coverage": coverage_section(
            run=run, domain_href=lambda slug: records_url(domain=slug, run=run.pk if run else None)
        ),
    }
    return render(request, "review/coverage_page.html", context)
