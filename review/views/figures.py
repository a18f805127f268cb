"""The data lead's view of each reviewer's figures: the same ones physicians see of themselves."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.roles import role_required
from review.selectors.workspace import all_reviewer_figures


@require_GET
@role_required("review.view_dashboard")
def reviewer_figures(request: HttpRequest) -> HttpResponse:
    return render(request, "review/figures.html", {**all_reviewer_figures(), "own": False})
