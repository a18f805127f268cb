"""The export is the last gate: from the demo's defaults, what physicians approved is screened once more;
a record with PHI, an empty message or a pair that is no pair is withheld and counted, never written; an
export left with nothing is "empty", says why, and has nothing to download."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from review.exports.build import export_folder
from review.exports.last_gate import withheld_reason
from review.models import Export, ItemRevision
from tests.review.journey import (
    decide,
    edit,
    export_from_dashboard,
    exported_texts,
    generate,
    logged_in,
    seed_demo,
    zip_texts,
)

PHI = "Call the patient, John Smith, on 555-867-5309 tomorrow."
BETTER = "A physician's corrected answer: start empirical treatment after cultures are drawn."


@pytest.fixture(autouse=True)
def _offline_datasets(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))


def load_folder(folder):
    import datasets

    return datasets.load_dataset(str(folder), cache_dir=str(folder.parent / "hf-cache"))


@pytest.fixture
def demo(db):
    """seed_demo, then an offline run whose items one physician decides on the review page."""
    users = seed_demo()
    items = generate()
    return users, items


def test_a_record_with_phi_is_withheld_counted_and_never_written(demo, django_capture_on_commit_callbacks):
    users, items = demo
    physician = logged_in(users["physician"])
    accepted = decide(physician, "accept")
    leaked = edit(physician, output=f"{accepted.candidate.output}\n\n{PHI}")  # the physician's slip
    rest = [decide(physician, "accept") for _ in items[2:]]
    lead = logged_in(users["datalead"])

    # The edit's own screen holds the slip back: it is not even selected for export.
    first = export_from_dashboard(lead, django_capture_on_commit_callbacks, format="jsonl")
    assert first.manifest["counts"]["selected"] == len(items) - 1
    assert first.manifest["withheld"] == {"phi": 0, "empty": 0, "identical_pair": 0}

    # A record approved under an older screen that missed it (the edit screen came with migration
    # 0010): the export's own screen is the last gate, and withholds it.
    ItemRevision.objects.filter(item=leaked).update(has_phi=False, phi_findings=[])
    row = export_from_dashboard(lead, django_capture_on_commit_callbacks, format="hf")
    assert row.status == "ready", row.error
    assert row.manifest["withheld"] == {"phi": 1, "empty": 0, "identical_pair": 0}
    assert row.manifest["counts"]["selected"] == len(items) and row.record_count == len(items) - 1
    folder = export_folder(row)
    files = exported_texts(folder)
    for name, text in {**files, **zip_texts(lead, row)}.items():
        assert "555-867-5309" not in text and "John Smith" not in text, name
    card = files["README.md"]
    assert "## Withheld at export" in card and "| possible PHI (`phi`) | 1 |" in card
    # What is written loads as it is, without the withheld record.
    dataset = load_folder(folder)["train"]
    assert sorted(dataset["id"]) == sorted(f"item-{i.pk}" for i in [accepted, *rest])
    assert f"item-{leaked.pk}" not in dataset["id"]
    page = lead.get(reverse("review:dashboard"))
    assert "withheld at export: phi 1" in page.text


def test_dpo_from_edits_withholds_a_pair_whose_answer_did_not_change(demo, tmp_path, capsys):
    users, items = demo
    physician = logged_in(users["physician"])
    # The case: an edit of the instruction only made a "pair" of one answer with itself.
    reworded = edit(physician, instruction="Reworded by the physician: " + items[0].candidate.instruction)
    leaked = edit(physician, output=PHI)  # held back by the edit's own PHI screen: never selected

    # Every pair so far is withheld: the command says the export is empty, why, and exits non-zero.
    out = tmp_path / "dpo-empty"
    with pytest.raises(CommandError, match=r"empty\): All 1 records withheld: identical_pair 1\."):
        call_command("export", "--kind", "dpo", "--dpo-from-edits", "--format", "hf", "--out", str(out))
    assert not out.exists() and not list(tmp_path.glob("dpo-empty*"))
    empty = Export.objects.get()
    assert empty.status == "empty" and empty.record_count == 0
    assert empty.manifest["withheld"] == {"phi": 0, "empty": 0, "identical_pair": 1}

    improved = edit(physician, output=BETTER)
    out = tmp_path / "dpo"
    call_command("export", "--kind", "dpo", "--dpo-from-edits", "--format", "hf", "--out", str(out))
    printed = capsys.readouterr().out
    assert "Wrote 1 records" in printed and "Withheld at export, never written: identical_pair 1." in printed
    (record,) = load_folder(out)["train"]
    assert record["id"] == f"item-{improved.pk}"
    assert record["chosen"] == [{"role": "assistant", "content": BETTER}]
    assert record["rejected"] == [{"role": "assistant", "content": improved.candidate.output}]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["withheld"] == {"phi": 0, "empty": 0, "identical_pair": 1}
    assert PHI not in json.dumps(manifest)
    assert {f"item-{reworded.pk}", f"item-{leaked.pk}"}.isdisjoint(json.dumps(manifest))


def test_an_export_with_nothing_to_write_is_empty_with_the_reason_on_the_dashboard(
    demo, django_capture_on_commit_callbacks
):
    users, _items = demo
    lead = logged_in(users["datalead"])
    nothing_yet = export_from_dashboard(lead, django_capture_on_commit_callbacks)
    assert nothing_yet.status == "empty"
    assert (
        nothing_yet.error == "No approved records match these filters: physicians have approved nothing yet."
    )

    decide(logged_in(users["physician"]), "accept")
    row = export_from_dashboard(lead, django_capture_on_commit_callbacks, domains=["cardiology"])
    assert row.status == "empty" and row.record_count == 0
    assert row.error == "No approved records match these filters (none left after: domain in cardiology)."
    assert not export_folder(row).exists()
    assert lead.get(reverse("review:export_download", args=[row.pk])).status_code == 404
    assert lead.get(reverse("review:export_file", args=[row.pk, "manifest.json"])).status_code == 404
    page = lead.get(reverse("review:dashboard")).text
    assert "Empty" in page and "none left after: domain in cardiology" in page
    assert reverse("review:export_download", args=[row.pk]) not in page


@pytest.mark.parametrize(
    ("kind", "texts", "reason"),
    [
        ("sft", ("Dose?", "", "Take 5 mg.", None), ""),
        ("sft", ("  ", "", "Take 5 mg.", None), "empty"),
        ("sft", ("Dose?", "", " \n", None), "empty"),
        ("dpo", ("Dose?", "", "Take 5 mg.", ""), "empty"),
        ("dpo", ("Dose?", "", "Take  5 mg.\n", " Take 5\tmg."), "identical_pair"),
        ("dpo", ("Dose?", "", "Take 5 mg.", "Take 10 mg."), ""),
        ("dpo", ("Dose?", "", "Take 5 mg.", "Ask Dr. John Smith on 555-867-5309."), "phi"),
        ("sft", ("Dose?", "MRN: 4481923", "Take 5 mg.", None), "phi"),
    ],
)
def test_the_last_gate_reasons(kind, texts, reason):
    instruction, task_input, chosen, rejected = texts
    assert (
        withheld_reason(
            kind=kind, instruction=instruction, task_input=task_input, chosen=chosen, rejected=rejected
        )
        == reason
    )


def test_a_system_prompt_with_phi_is_refused(demo, tmp_path):
    with pytest.raises(CommandError, match="system prompt may hold PHI"):
        call_command("export", "--out", str(tmp_path / "x"), "--system-prompt", "Reviewed by Dr. John Smith.")
    assert not Export.objects.exists()


def test_the_screen_stamps_what_it_passed_and_the_export_trusts_only_the_current_stamp(
    demo, django_capture_on_commit_callbacks
):
    from synth.models import Candidate
    from synth.quality.phi import SCREEN_VERSION

    users, items = demo
    # The gate stamped every candidate it found free of PHI with the screen it used.
    assert {item.candidate.phi_free_under for item in items} == {SCREEN_VERSION}
    physician = logged_in(users["physician"])
    accepted = [decide(physician, "accept") for _ in items[:2]]
    edited = ItemRevision.objects.get(item=edit(physician, output=BETTER))
    assert edited.phi_free_under == SCREEN_VERSION
    slip = ItemRevision.objects.get(item=edit(physician, output=PHI))
    assert slip.phi_free_under == "" and slip.has_phi
    lead = logged_in(users["datalead"])

    # A candidate whose stamp comes from an older screen, which (say) missed a phone number: the
    # export screens it again, and withholds it.
    stale = accepted[0].candidate
    Candidate.objects.filter(pk=stale.pk).update(
        output=f"{stale.output} {PHI}", phi_free_under="0123456789abcdef"
    )
    row = export_from_dashboard(lead, django_capture_on_commit_callbacks, format="jsonl")
    assert row.manifest["withheld"]["phi"] == 1
    texts = "\n".join(exported_texts(export_folder(row)).values())
    assert "555-867-5309" not in texts and BETTER in texts
    assert f"item-{accepted[1].pk}" in texts and f"item-{stale.pk}" not in texts
