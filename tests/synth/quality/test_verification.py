"""Knowledge-base verification: ICD-10-CM codes exist and match the condition; drug names are known."""

from __future__ import annotations

import pytest

from synth.knowledge import drugs
from synth.models import Candidate, QualityResult
from synth.quality.gate import apply_gate
from synth.quality.verification import code_mentions


def problems(text: str) -> list[tuple[str, bool]]:
    return [(c["code"], c["valid"]) for c in code_mentions(text) if "problem" in c]


@pytest.mark.parametrize(
    "text",
    [
        "Type 2 diabetes mellitus (E11.9) and essential hypertension (I10).",
        "Acute myocardial infarction (I21) is classified in the block Ischemic heart diseases (I20-I25).",
        "Chronic obstructive pulmonary disease with acute exacerbation (J44.1); CKD stage 3 (N18.3).",
        "Diabetic kidney disease (E11.22) needs yearly urine albumin.",
        'The diagnosis "Essential (primary) hypertension" is coded to ICD-10-CM category I10.',
    ],
)
def test_valid_codes_matching_their_condition_raise_nothing(text):
    assert code_mentions(text) and problems(text) == []


def test_an_invented_code_is_flagged_as_unknown():
    assert problems("Assign code E11.99X for the visit.") == [("E11.99X", False)]
    assert problems("Fictional syndrome (U99.1).") == [("U99.1", False)]


def test_a_real_code_under_the_wrong_condition_is_flagged():
    [mention] = code_mentions("Essential hypertension (E11.9) is common.")
    assert mention["valid"] and "does not match E11.9" in mention["problem"]


def test_words_that_look_like_codes_are_not_read_as_codes():
    assert (
        code_mentions("Vitamin B12 deficiency; HbA1c 7%; an A1C of 8; a G2P1 mother; T2 weighted MRI.") == []
    )


@pytest.mark.parametrize(
    ("text", "unknown", "suggestion"),
    [
        ("Give metfromin 500 mg twice daily.", "metfromin", "metformin"),
        ("Lisinoprill 10 mg once daily.", "Lisinoprill", "lisinopril"),
        ("Start Zorblaxitol 20 mg daily.", "Zorblaxitol", ""),
        ("Add glucozamab for refractory cases.", "glucozamab", ""),
    ],
)
def test_misspelled_and_invented_drug_names_are_flagged(text, unknown, suggestion):
    known, unsure = drugs.find_drugs(text)
    assert [(m.text, m.suggestion) for m in unsure] == [(unknown, suggestion)]
    assert known == []


def test_known_drugs_and_brand_names_are_recognized_and_ordinary_words_are_not_flagged():
    text = (
        "Start metformin 500 mg twice daily; take Tylenol as needed; atorvastatin 40 mg at night; "
        "a dose of 250 mg then 125 mg every 8 hours for hypertension, infection and pain relief."
    )
    known, unsure = drugs.find_drugs(text)
    assert [m.name for m in known] == ["Metformin", "Acetaminophen", "Atorvastatin"]
    assert unsure == []


def test_the_gate_flags_unverified_codes_and_drugs_with_evidence(make_candidate):
    candidate = apply_gate(
        make_candidate(
            "Treat essential hypertension (E11.9).", "Start Zorblaxitol 20 mg and lisinopril 10 mg."
        )
    )
    assert candidate.status == Candidate.Status.PASSED and candidate.held_back
    codes = QualityResult.objects.get(candidate=candidate, check_name="icd_codes")
    assert codes.flagged and codes.evidence["codes"][0]["code"] == "E11.9"
    found = QualityResult.objects.get(candidate=candidate, check_name="drugs")
    assert found.flagged
    assert [u["text"] for u in found.evidence["unknown"]] == ["Zorblaxitol"]
    assert [r["name"] for r in found.evidence["recognized"]] == ["Lisinopril"]


def test_offline_generated_candidates_pass_verification_unflagged(launch, demo_config):
    run = launch(demo_config, requested_count=30)
    flagged = QualityResult.objects.filter(candidate__run=run, flagged=True)
    assert list(flagged.values_list("check_name", "reason")) == []
