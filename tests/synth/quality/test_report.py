"""The funnel by filter and the coverage report: command, dashboard charts, re-gating."""

from __future__ import annotations

import json
import re

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from synth.models import Candidate, Domain, QualityResult


def test_quality_report_prints_each_filter_and_the_coverage(launch, demo_config, capsys):
    Domain.objects.filter(slug="cardiology").update(target_share=0.5)
    run = launch(demo_config, requested_count=30)
    call_command("quality_report", "--run", str(run.pk))
    out = capsys.readouterr().out
    assert f"Quality report: run {run.pk}" in out
    assert "Near-duplicates" in out and "Possible PHI" in out and "Cardiology" in out
    call_command("quality_report", "--json")
    data = json.loads(capsys.readouterr().out)
    assert data["funnel"]["generated"] == Candidate.objects.count()
    assert sum(d["count"] for d in data["domains"]) == Candidate.objects.filter(status="passed").count()
    assert "cardiology" in data["below_target"]
    assert {row["check"] for row in data["by_filter"]} >= {
        "exact_duplicate",
        "near_duplicate",
        "phi",
        "drugs",
    }
    assert len(data["novelty"]["bins"]) == 10


def test_quality_report_refuses_an_unknown_run(db):
    with pytest.raises(CommandError, match="There is no run 999"):
        call_command("quality_report", "--run", "999")


def test_regate_replaces_results_without_duplicating_them(launch, demo_config, settings, capsys):
    run = launch(demo_config, requested_count=12)
    original, later = run.candidates.filter(status="passed").order_by("pk")[:2]
    # Plant a loose copy: the original's words followed by as many new ones (word-shingle Jaccard ~0.5).
    padding = " ".join(f"aside{i}" for i in range(len(original.instruction.split())))
    Candidate.objects.filter(pk=later.pk).update(instruction=f"{original.instruction} {padding}")
    before = QualityResult.objects.filter(candidate__run=run).count()

    call_command("regate", "--run", str(run.pk))
    assert "Re-gated 12 candidate(s)" in capsys.readouterr().out
    later.refresh_from_db()
    assert later.filter_reason != "near_duplicate"  # too loose a copy at the default threshold

    settings.DEDUP_THRESHOLD = 0.3  # a stricter setting: more near-duplicates
    call_command("regate", "--run", str(run.pk))
    later.refresh_from_db()
    assert later.filter_reason == "near_duplicate"
    assert QualityResult.objects.filter(candidate__run=run).count() == before


def test_the_dashboard_shows_the_funnel_by_filter_and_coverage_charts(
    client_for, data_lead, launch, demo_config
):
    launch(demo_config, requested_count=12)
    r = client_for(data_lead).get(reverse("review:dashboard"))
    assert r.status_code == 200
    assert 'data-testid="gate-funnel"' in r.text and 'data-testid="filter-near_duplicate"' in r.text
    assert 'data-testid="domain-chart"' in r.text and 'data-testid="novelty-chart"' in r.text
    section = r.text.split('data-testid="coverage"')[1].split("</section>")[0]
    assert re.findall(r"<script[^>]*>", section) == [
        '<script id="chart-data-domain-chart" type="application/json">',
        '<script id="chart-data-novelty-chart" type="application/json">',
    ]  # chart data only, drawn by static/charts.js


def test_the_coverage_page_reports_one_run(client_for, data_lead, physician, launch, demo_config):
    run = launch(demo_config, requested_count=6)
    r = client_for(data_lead).get(reverse("review:coverage"), {"run": run.pk})
    assert r.status_code == 200 and f"Coverage of run {run.pk}" in r.text
    assert client_for(data_lead).get(reverse("review:coverage"), {"run": 999}).status_code == 404
    assert client_for(physician).get(reverse("review:coverage")).status_code == 403


def test_the_admin_action_regates_selected_candidates(client_for, administrator, launch, demo_config):
    run = launch(demo_config, requested_count=6)
    ids = list(run.candidates.values_list("pk", flat=True))
    before = QualityResult.objects.filter(candidate__run=run).count()
    r = client_for(administrator).post(
        reverse("admin:synth_candidate_changelist"),
        {"action": "regate_selected", "_selected_action": ids},
        follow=True,
    )
    assert r.status_code == 200
    assert "Re-gated 6 candidate(s)" in r.text
    assert QualityResult.objects.filter(candidate__run=run).count() == before


def test_the_administrator_curates_the_facts_table_in_the_admin(client_for, administrator):
    r = client_for(administrator).post(
        reverse("admin:synth_knowledgefact_add"),
        {
            "drug": "metformin",
            "kind": "contraindication",
            "unit": "",
            "condition": "",
            "source": "Label",
            "is_active": "on",
        },
    )
    assert r.status_code == 200 and "Name the condition" in r.text
    from synth.models import KnowledgeFact

    assert not KnowledgeFact.objects.exists()


def test_a_run_can_fill_the_domains_furthest_below_target(client_for, administrator, demo_config):
    from synth.models import GenerationRun

    Domain.objects.filter(slug__in=["cardiology", "neonatology"]).update(target_share=0.3)
    data = {
        "teacher": demo_config.pk,
        "technique": "self_instruct",
        "requested_count": 3,
        "sample_percent": 0,
        "fill_gaps": "on",
    }
    r = client_for(administrator).post(reverse("synth:run_new"), data)
    assert r.status_code == 302
    run = GenerationRun.objects.get()
    assert sorted(run.domains.values_list("slug", flat=True)) == ["cardiology", "neonatology"]
    assert sorted(run.options["filled_gaps"]) == ["cardiology", "neonatology"]


def test_filling_gaps_without_targets_gets_a_message_and_launches_nothing(
    client_for, administrator, demo_config
):
    from synth.models import GenerationRun

    data = {
        "teacher": demo_config.pk,
        "technique": "self_instruct",
        "requested_count": 3,
        "sample_percent": 0,
        "fill_gaps": "on",
    }
    r = client_for(administrator).post(reverse("synth:run_new"), data)
    assert r.status_code in (200, 422)
    assert "No domain is below its target share" in r.text
    assert not GenerationRun.objects.exists()
