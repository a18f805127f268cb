"""The facts table: statements that contradict an admin-curated fact are flagged with its source."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from synth.models import KnowledgeFact, QualityResult
from synth.quality.gate import apply_gate


@pytest.fixture
def facts(db):
    return [
        KnowledgeFact.objects.create(
            drug="metformin",
            kind="dose_range",
            low=Decimal(500),
            high=Decimal(1000),
            unit="mg",
            source="Label",
        ),
        KnowledgeFact.objects.create(
            drug="metformin", kind="max_daily_dose", high=Decimal(2550), unit="mg", source="Label"
        ),
        KnowledgeFact.objects.create(
            drug="metformin",
            kind="contraindication",
            condition="severe renal impairment",
            source="Guideline X",
        ),
    ]


def test_a_dose_outside_the_range_is_flagged_with_the_source(facts, make_candidate):
    candidate = apply_gate(make_candidate("Dose?", "Give metformin 3 g daily; start with metformin 2000 mg."))
    result = QualityResult.objects.get(candidate=candidate, check_name="facts")
    assert result.flagged and candidate.held_back
    messages = sorted(c["message"] for c in result.evidence["conflicts"])
    assert messages == [
        "metformin 2000 mg: the facts table gives 500–1000 mg (dose range (one dose))",
        "metformin 3 g: the facts table gives at most 2550 mg (maximum daily dose)",
    ]
    assert {c["source"] for c in result.evidence["conflicts"]} == {"Label"}


def test_doses_within_the_facts_agree(facts, make_candidate):
    candidate = apply_gate(
        make_candidate("Dose?", "Start metformin 500 mg twice a day, up to 2000 mg daily.")
    )
    result = QualityResult.objects.get(candidate=candidate, check_name="facts")
    assert result.passed and not result.flagged
    assert len(result.evidence["agreements"]) == 2


def test_a_contraindication_without_a_warning_is_flagged_and_with_one_is_not(facts, make_candidate):
    flagged = apply_gate(make_candidate("Plan?", "Start metformin in severe renal impairment."))
    warned = apply_gate(make_candidate("Plan 2?", "Avoid metformin in severe renal impairment."))
    assert QualityResult.objects.get(candidate=flagged, check_name="facts").flagged
    assert not QualityResult.objects.get(candidate=warned, check_name="facts").flagged


def test_a_fact_missing_what_it_needs_is_refused_with_a_clear_message(db):
    with pytest.raises(ValidationError, match="Name the condition"):
        KnowledgeFact(drug="x", kind="contraindication", source="s").full_clean()
    with pytest.raises(ValidationError, match="unit of the dose"):
        KnowledgeFact(drug="x", kind="dose_range", high=Decimal(1), source="s").full_clean()
    assert not KnowledgeFact.objects.exists()
