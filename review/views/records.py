"""The record browser: every reviewed or released record, filtered, and one record's whole history."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.roles import role_required
from review.selectors.records import record_history, record_page


@require_GET
@role_required("review.view_dashboard")
def record_list(request: HttpRequest) -> HttpResponse:
    context = record_page(params=request.GET)
    return render(request, "review/records.html", context, status=400 if context["filters"].errors else 200)


@require_GET
@role_required("review.view_dashboard")
def record_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "review/record.html", record_history(candidate_id=pk))
