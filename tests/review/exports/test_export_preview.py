"""Exports that say what they are: a preview of the count and first records before an export is made
(exactly what it then writes, the last gate included), a warning when it would be empty, and each
export's settings and counts in the exports table."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from review.exports.build import export_folder
from review.models import ItemRevision
from tests.review.journey import decide, edit, export_from_dashboard, generate, logged_in, seed_demo

PHI = "Call the patient, John Smith, on 555-867-5309 tomorrow."
HTMX = {"HX-Request": "true"}


@pytest.fixture
def demo(db):
    users = seed_demo()
    items = generate()
    return users, items


def preview(client, **data):
    r = client.get(reverse("review:export_preview"), {"kind": "sft", "format": "jsonl", **data}, headers=HTMX)
    assert r.status_code == 200
    return r


def written(folder, split: str) -> list[dict]:
    path = folder / "data" / f"{split}.jsonl"
    if not path.exists():
        path = folder / f"{split}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_preview_shows_what_the_export_then_writes(demo, django_capture_on_commit_callbacks):
    users, items = demo
    physician = logged_in(users["physician"])
    decide(physician, "accept")
    leaked = edit(physician, output=f"An answer.\n\n{PHI}")
    for _ in items[2:]:
        decide(physician, "accept")
    # Approved under an older screen that missed it: only the export's last gate withholds it.
    ItemRevision.objects.filter(item=leaked).update(has_phi=False, phi_findings=[])
    lead = logged_in(users["datalead"])
    settings = {"validation_share": "0.5", "seed": "7"}

    r = preview(lead, **settings)
    shown = r.context["preview"]
    assert shown.screened_all and shown.selected == len(items)
    assert shown.count == len(items) - 1 and shown.withheld["phi"] == 1
    assert f"would write <strong>{len(items) - 1}</strong> records" in r.text
    assert "the last gate would withhold 1 (possible PHI)" in r.text
    assert r.text.count('data-testid="preview-row"') == len(items) - 1

    export = export_from_dashboard(lead, django_capture_on_commit_callbacks, **settings)
    assert export.status == "ready", export.error
    assert export.record_count == shown.count
    folder = export_folder(export)
    for split in ("train", "validation"):
        expected = [record for record in shown.records if record["split"] == split]
        records = written(folder, split)
        assert [rec["id"] for rec in records[: len(expected)]] == [rec["id"] for rec in expected]
        for preview_record, record in zip(expected, records, strict=False):
            assert preview_record["messages"] == record["messages"]
            assert (
                preview_record["domain"] == record["domain"] and preview_record["edited"] == record["edited"]
            )
    assert f"item-{leaked.pk}" not in {record["id"] for record in shown.records}


def test_an_export_that_would_be_empty_says_so_before_it_is_made(demo):
    users, _items = demo
    lead = logged_in(users["datalead"])
    r = preview(lead)
    assert 'data-testid="export-empty-warning"' in r.text
    assert "This export would be empty." in r.text and "physicians have approved nothing yet" in r.text

    decide(logged_in(users["physician"]), "accept")
    r = preview(lead, domains=["cardiology"])
    assert "This export would be empty." in r.text
    assert "none left after: domain in cardiology" in r.text
    assert 'data-testid="export-empty-warning"' not in preview(lead).text


def test_the_preview_refuses_settings_that_cannot_work(demo):
    users, _items = demo
    r = preview(logged_in(users["datalead"]), date_from="2026-02-01", date_to="2026-01-01")
    assert "The start date is after the end date" in r.text and 'role="alert"' in r.text


def test_physicians_cannot_preview_an_export(demo):
    users, _items = demo
    assert logged_in(users["physician"]).get(reverse("review:export_preview")).status_code == 403


def test_the_exports_table_shows_each_exports_settings_counts_and_withholding(
    demo, django_capture_on_commit_callbacks
):
    users, items = demo
    physician = logged_in(users["physician"])
    for _ in items:
        decide(physician, "accept")
    lead = logged_in(users["datalead"])
    export = export_from_dashboard(
        lead,
        django_capture_on_commit_callbacks,
        domains=["infectious-disease"],
        techniques=["self_instruct"],
        validation_share="0.5",
        seed="7",
        sft_style="alpaca",
    )
    assert export.status == "ready", export.error
    page = lead.get(reverse("review:dashboard")).text
    row = page.split('data-testid="export-row"')[1].split("</tr>")[0]
    assert "SFT (supervised fine-tuning) · JSON Lines" in row
    assert "Records: Alpaca (instruction, input, output)" in row
    assert "Filters: domains Infectious disease; techniques Self-Instruct" in row
    assert "Split: 50% validation, seed 7" in row
    splits = export.manifest["counts"]["splits"]
    assert ", ".join(f"{split} {n}" for split, n in splits.items()) in row
    assert f"{len(items)} reviewed, 0 released, 0 edited" in row
