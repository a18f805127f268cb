"""The PHI screen finds every Safe Harbor identifier kind and stays quiet on ordinary clinical text."""

from __future__ import annotations

import itertools

import pytest

from synth.models import Candidate, QualityResult
from synth.quality.gate import apply_gate
from synth.quality.phi import KINDS, find_phi

# (text, kind, the identifier's text): at least one case for every kind the screen reports.
IDENTIFIERS = [
    ("Mr. John Smith was admitted overnight.", "name", "John Smith"),
    ("Patient: Maria Lopez\nChief complaint: cough.", "name", "Maria Lopez"),
    ("Maria Lopez, a 45-year-old woman, presents with dyspnea.", "name", "Maria Lopez"),
    ("Her daughter Anna gives the history.", "name", "Anna"),
    ("A boy named Max has a rash.", "name", "Max"),
    ("Dr. Patel reviewed the chest film.", "name", "Patel"),
    ("Electronically signed: Robert Chen", "name", "Robert Chen"),
    ("He lives at 123 Main Street, Apt 4B with his wife.", "address", "123 Main Street, Apt 4B"),
    ("Mail results to PO Box 4410.", "address", "PO Box 4410"),
    ("She moved from Springfield, IL 62704 last winter.", "zip", "62704"),
    ("She moved from Springfield, IL 62704 last winter.", "address", "Springfield"),
    ("Zip code: 02139.", "zip", "02139"),
    ("He lives in Boston with his son.", "address", "Boston"),
    ("DOB 03/14/1951.", "date", "03/14/1951"),
    ("Seen in clinic on 2024-03-14 for follow-up.", "date", "2024-03-14"),
    ("Admitted March 14, 2024 with pneumonia.", "date", "March 14, 2024"),
    ("Discharged on 14 March with oral antibiotics.", "date", "14 March"),
    ("Symptoms began in March 2024.", "date", "March 2024"),
    ("Febrile since 3/14, now afebrile.", "date", "3/14"),
    ("He is a 92-year-old man with syncope.", "age", "92-year-old"),
    ("Age: 95. Sex: F.", "age", "Age: 95"),
    ("A 101 yo woman with a hip fracture.", "age", "101 yo"),
    ("Call (555) 123-4567 with results.", "phone", "(555) 123-4567"),
    ("Her cell is 555-123-4567.", "phone", "555-123-4567"),
    ("Reach the daughter on +44 20 7946 0958.", "phone", "+44 20 7946 0958"),
    ("Phone: 5551234567.", "phone", "5551234567"),
    ("Fax: 555.123.4568 to the clinic.", "fax", "555.123.4568"),
    ("Send the report to jane.doe@example.com today.", "email", "jane.doe@example.com"),
    ("SSN 123-45-6789 on the form.", "ssn", "123-45-6789"),
    ("Social security number: 123456789.", "ssn", "123456789"),
    ("MRN 00123456, bed 4.", "mrn", "00123456"),
    ("Medical record number 7654321 was merged.", "mrn", "7654321"),
    ("Medicare number 1EG4-TE5-MK73 on file.", "health_plan", "1EG4-TE5-MK73"),
    ("Member ID: XJ1234567.", "health_plan", "XJ1234567"),
    ("Billing account #998877 is overdue.", "account", "998877"),
    ("Prescriber DEA AB1234563.", "license", "AB1234563"),
    ("Driver's license number D1234567.", "license", "D1234567"),
    ("Hit by a car, license plate ABC1234.", "vehicle", "ABC1234"),
    ("VIN 1HGCM82633A004352 recorded by police.", "vehicle", "1HGCM82633A004352"),
    ("Pacemaker serial number PM123456 checked.", "device", "PM123456"),
    (
        "Portal: http://patientportal.example.com/u/123 for her results.",
        "url",
        "http://patientportal.example.com/u/123",
    ),
    ("Logged in from 192.168.1.20 at home.", "ip", "192.168.1.20"),
    ("Logged in from 2001:db8::8a2e:370:7334 at home.", "ip", "2001:db8::8a2e:370:7334"),
    ("Fingerprint on file at the front desk.", "biometric", "Fingerprint"),
    ("A full-face photograph is attached.", "photo", "full-face photograph"),
    ("Patient ID: 556677 on the wristband.", "other_id", "556677"),
    ("Encounter #123456 was closed.", "other_id", "123456"),
]

# Ordinary clinical text: none of it identifies anyone.
CLINICAL = [
    "A 45-year-old man with type 2 diabetes mellitus (E11.9) on metformin 500 mg twice daily.",
    "An 89-year-old woman with hypertension (I10); BP 142/88 mmHg, HR 92 bpm, SpO2 95% on room air.",
    "HbA1c 7.2%, LDL 190 mg/dL, eGFR 45 mL/min/1.73 m2, potassium 5.6 mmol/L, INR 2.5.",
    "Per the KDIGO 2012 guideline, GOLD 2023, the 2017 ACC/AHA guideline and JNC 8 targets.",
    "T2DM diagnosed in 2015; CHA2DS2-VASc score of 3; NYHA class III; GCS 15; Apgar 9 at 5 minutes.",
    "Platelets 150,000/µL, WBC 10500, hemoglobin 9.8 g/dL, sodium 134 mEq/L.",
    "Titrate 5-10-20 mg weekly; 24 weeks gestation; 2-3 times a week; adults aged 40 to 75.",
    "Adults aged 90 or older and patients over 90 years old are grouped together; a 90+ cohort.",
    "Parkinson disease, Crohn disease, Hodgkin lymphoma, Down syndrome, Alzheimer disease (G30.9).",
    "Patient: elderly woman with chest pain. Patient presents with dyspnea. Pt: 67F.",
    "The patient should take 500 mg amoxicillin. Give the patient 1000 units of heparin.",
    "Temperature 38.5 °C, RR 22/min, weight 70 kg, BMI 31.2 kg/m2, QTc 480 ms.",
    "ICD-10-CM codes I21.4, J44.1, N18.3 and Z79.4; see https://www.cdc.gov/diabetes/ and www.who.int.",
    "Strength 4/5 in the left arm; pain 7/10; visual acuity 20/40; BP 110/70.",
    "In 2019 the USPSTF updated its advice; version 2.1 of the protocol; Stage 3a CKD; Grade II.",
    "The drug may cause dizziness; give it at 10:30 or 22:00.",
    "Chief Complaint: Chest pain. Assessment: Acute Coronary Syndrome. Plan: admit to the Cardiology unit.",
    "Fluid bolus 30 mL/kg; oxygen 2 L via nasal cannula; dose 0.5-1.0 mg; ECG leads V1-V6.",
    "Case 1: a 60-year-old man. Question 3: which drug? Option A, 25 mg.",
    "Her mother had breast cancer at 52; his father died of a myocardial infarction.",
    "Screen adults 50 to 75 years old; children under 5 years; an infant 3 months old.",
    "Class IV heart failure, group A streptococcus, factor V Leiden, HLA-B27, BRCA1 carrier.",
    "Give 1 g ceftriaxone IV every 24 hours for 7-14 days; repeat labs in 3 months.",
    "The 2021 ESC guidelines recommend SGLT2 inhibitors; the 2023 ADA Standards of Care agree.",
]


@pytest.mark.parametrize(("text", "kind", "identifier"), IDENTIFIERS)
def test_it_finds_each_safe_harbor_identifier_with_its_span(text, kind, identifier):
    findings = find_phi(text)
    assert (kind, identifier) in [(f.kind, f.text) for f in findings]
    for finding in findings:
        assert text[finding.start : finding.end] == finding.text


def test_every_kind_the_screen_reports_is_tested():
    assert {kind for _, kind, _ in IDENTIFIERS} == set(KINDS)


@pytest.mark.parametrize("text", CLINICAL)
def test_it_finds_nothing_in_ordinary_clinical_text(text):
    assert find_phi(text) == []


def test_ages_up_to_89_are_not_identifiers_and_90_is():
    assert find_phi("an 89-year-old woman") == []
    assert [f.kind for f in find_phi("a 90-year-old woman")] == ["age"]


def test_years_alone_are_not_dates_but_a_month_with_a_year_is():
    assert find_phi("diagnosed in 2015, treated in 2016") == []
    assert [f.text for f in find_phi("diagnosed in June 2015")] == ["June 2015"]


def test_findings_are_in_text_order_and_never_overlap():
    text = "Mr. John Smith (MRN 00123456), DOB 03/14/1951, phone 555-123-4567, 92 years old."
    findings = find_phi(text)
    assert [f.kind for f in findings] == ["name", "mrn", "date", "phone", "age"]
    assert all(a.end <= b.start for a, b in itertools.pairwise(findings))


def test_a_candidate_with_phi_passes_but_is_held_back_with_the_findings(make_candidate):
    candidate = make_candidate(
        "Summarise the discharge note.",
        "Mr. John Smith went home.",
        input="Discharged on 2024-03-14. Call 555-123-4567.",
    )
    apply_gate(candidate)
    candidate.refresh_from_db()
    assert candidate.status == Candidate.Status.PASSED
    assert candidate.held_back
    result = QualityResult.objects.get(candidate=candidate, check_name="phi")
    assert result.passed and result.flagged
    found = {(f["field"], f["kind"], f["text"]) for f in result.evidence["findings"]}
    assert found == {
        ("input", "date", "2024-03-14"),
        ("input", "phone", "555-123-4567"),
        ("output", "name", "John Smith"),
    }
    for finding in result.evidence["findings"]:
        assert getattr(candidate, finding["field"])[finding["start"] : finding["end"]] == finding["text"]
    assert "Telephone number" in result.reason


def test_a_clean_candidate_is_not_held_back_and_regating_keeps_one_result(make_candidate):
    candidate = make_candidate(
        "Explain the first-line treatment of hypertension (I10).",
        "For a 60-year-old with BP 150/95 mmHg, start a thiazide, ACE inhibitor or calcium channel blocker.",
    )
    apply_gate(candidate)
    apply_gate(candidate)
    candidate.refresh_from_db()
    assert candidate.status == Candidate.Status.PASSED and not candidate.held_back
    result = QualityResult.objects.get(candidate=candidate, check_name="phi")
    assert result.passed and not result.flagged and result.evidence == {}


def test_offline_generated_candidates_are_not_held_back(launch, demo_config):
    run = launch(demo_config, requested_count=20)
    assert run.candidates.count() == 20
    assert not run.candidates.filter(held_back=True).exists()
    assert not QualityResult.objects.filter(candidate__run=run, check_name="phi", flagged=True).exists()
