"""The whole loop as a new user meets it on the demo's defaults, in Chromium: the administrator sets a
sampling policy, adds questions and a document, launches every technique from the launch form; two
physicians review every item with the keyboard alone; a senior settles their disagreement; the data
lead exports SFT and DPO folders, which `datasets` loads holding exactly what the physicians approved."""

import json
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from review.exports.build import export_folder
from review.models import Decision, Export, ReviewItem
from synth.models import GenerationRun
from synth.quality.phi import find_phi
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

TECHNIQUES = {  # the launch form's technique label → candidates asked for
    "Self-Instruct": 3,
    "Evol-Instruct": 2,
    "Distillation": 2,
    "Backtranslation": 1,
    "Preference pairs": 3,
}
QUESTIONS = [
    {"query": "What is the ICD-10-CM category code for essential (primary) hypertension?"},
    {"query": "Which ICD-10-CM category codes type 2 diabetes mellitus?"},
    {"query": "Patient John Smith, MRN 4481923, phone 555-867-5309, presents with chest pain: which code?"},
]
DOCUMENT = (
    "Essential (primary) hypertension is coded I10 in ICD-10-CM. The code covers high blood pressure "
    "with no known secondary cause; hypertension with heart or kidney involvement is coded in the "
    "I11 to I13 categories instead, and secondary hypertension in I15."
)


@pytest.fixture(autouse=True)
def _offline_datasets(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))


@pytest.fixture
def open_as(live_server, browser):
    """A new browser context at 1280 by 800 signed in as a demo account (`seed_demo`), returning its page."""
    contexts = []

    def sign_in_as(username: str):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{live_server.url}/accounts/login/")
        sign_in(page, username)
        return page

    yield sign_in_as
    for context in contexts:
        context.close()


def item_id(page) -> int:
    return int(re.search(r"Item #(\d+)", page.get_by_test_id("item-meta").inner_text()).group(1))


def review_everything(page, plan: dict[int, str]) -> list[int]:
    """Decide every item the reviewer is given, with keys only, as `plan` says (accept by default);
    returns the items in the order they came."""
    keys, seen = page.keyboard, []
    while True:
        expect(
            page.get_by_test_id("item").locator("[data-testid=item-meta], [data-testid=queue-empty]")
        ).to_have_count(1)
        if page.get_by_test_id("queue-empty").count():
            return seen
        current = item_id(page)
        assert current not in seen, f"item #{current} came back after its decision"
        seen.append(current)
        action = plan.get(current, "accept")
        if page.get_by_test_id("item").get_attribute("data-pair") == "1":
            # The response the judge preferred, wherever the page put it (A or B).
            keys.press(page.locator("input[name=preference][value=output]").get_attribute("data-key"))
            keys.press("a")
        elif action == "reject":
            keys.press("r")
            keys.press("1")
            keys.press("Control+Enter")
        elif action == "edit":
            keys.press("e")
            expect(page.locator("#edit-output")).to_be_focused()
            keys.press("Control+End")
            keys.type(" ADDED BY REVIEW.")
            keys.press("Control+Enter")
        else:
            keys.press("a")
        expect(page.get_by_test_id("item-meta").or_(page.get_by_test_id("queue-empty"))).not_to_contain_text(
            f"Item #{current} "
        )


def test_every_technique_reaches_physicians_and_only_what_they_approved_is_exported(
    live_server, task_worker, open_as, tmp_path
):
    call_command("seed_demo")

    # The administrator wants every item reviewed by two physicians: a default policy in the admin.
    admin = open_as("admin")
    admin.goto(f"{live_server.url}/admin/review/samplingpolicy/add/")
    admin.get_by_label("Name").fill("Everything, twice")
    admin.get_by_label("Rate").fill("1")
    admin.get_by_label("Overlap fraction").fill("1")
    admin.get_by_label("Overlap reviewers").fill("2")
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".messagelist")).to_contain_text("was added successfully")

    # Questions for distillation, one carrying a patient's identifiers: held back, never sent.
    questions = tmp_path / "journey.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    admin.goto(f"{live_server.url}/runs/queries/")
    admin.get_by_label("Name").fill("Journey questions")
    admin.get_by_label("File").set_input_files(questions)
    admin.get_by_role("button", name="Add query set").click()
    expect(admin.get_by_test_id("held-back")).to_contain_text("Journey questions")
    expect(admin.get_by_test_id("held-back")).to_contain_text("4481923")

    # A document for backtranslation.
    admin.goto(f"{live_server.url}/runs/documents/")
    admin.get_by_label("Title").fill("Coding essential hypertension")
    admin.get_by_label("Text").fill(DOCUMENT)
    admin.get_by_role("button", name="Add document").click()
    expect(admin.get_by_role("cell", name="Coding essential hypertension")).to_be_visible()

    # Every technique, launched from the form with its defaults.
    for technique, count in TECHNIQUES.items():
        admin.goto(f"{live_server.url}/runs/new/")
        expect(admin.get_by_test_id("sampling-rule")).to_contain_text("Everything, twice")
        admin.get_by_label("Technique").select_option(label=technique)
        admin.get_by_label("Candidates to generate").fill(str(count))
        if technique == "Distillation":
            admin.get_by_label("Query set").select_option(label="Journey questions")
        admin.get_by_role("button", name="Launch run").click()
        expect(admin.get_by_test_id("run-status")).to_have_text("Completed", timeout=90_000)
        sampled = int(admin.get_by_test_id("sampled").inner_text())
        assert sampled >= 1, f"{technique}: nothing reached the physicians"
    distilled = GenerationRun.objects.get(technique="distillation")
    assert not distilled.candidates.filter(instruction__contains="4481923").exists()

    items = list(ReviewItem.objects.select_related("candidate").order_by("pk"))
    assert {item.candidate.technique for item in items} == {
        "self_instruct",
        "evol_instruct",
        "distillation",
        "backtranslation",
        "preference",
    }
    assert all(item.required_reviews == 2 for item in items)
    singles = [item.pk for item in items if not item.candidate.is_pair]
    pairs = [item.pk for item in items if item.candidate.is_pair]
    assert len(singles) >= 2 and pairs
    disputed, edited = singles[0], singles[1]

    # Two physicians review everything, blind to each other, with the keyboard alone: they disagree
    # on one item and make the same edit on another.
    first = review_everything(open_as("physician"), {disputed: "accept", edited: "edit"})
    second = review_everything(open_as("physician2"), {disputed: "reject", edited: "edit"})
    assert sorted(first) == sorted(second) == [item.pk for item in items]
    assert Decision.objects.count() == 2 * len(items)

    # The senior physician settles the disagreement, choosing the text the approving reviewer saw.
    senior = open_as("senior")
    senior.goto(f"{live_server.url}/adjudication/")
    queue = senior.get_by_test_id("adjudication-queue")
    expect(queue.get_by_role("link")).to_have_text([f"#{disputed}"])
    queue.get_by_role("link", name=f"#{disputed}").click()
    expect(senior.get_by_test_id("verdict")).to_have_count(2)
    senior.locator("input[name=revision]").first.check()
    senior.get_by_role("button", name="Accept the chosen text").click()
    senior.goto(f"{live_server.url}/adjudication/")
    expect(senior.get_by_test_id("adjudication-empty")).to_have_text("No disagreements are waiting.")
    senior.goto(f"{live_server.url}/adjudication/{disputed}/")
    expect(senior.get_by_test_id("settled-by")).to_contain_text("Settled by senior")

    settled = {item.pk: item for item in ReviewItem.objects.select_related("candidate", "final_revision")}
    assert all(item.status == "decided" for item in settled.values())
    assert (settled[disputed].final_verdict, settled[disputed].final_revision) == ("accept", None)
    assert settled[edited].final_verdict == "edit"
    assert settled[edited].final_revision.output.endswith("ADDED BY REVIEW.")

    # The data lead exports SFT and DPO (with and without the physicians' edits as pairs) as
    # Hugging Face folders.
    lead = open_as("datalead")
    expect(lead).to_have_url(re.compile(r"/dashboard/$"))
    rows = lead.get_by_test_id("export-row")
    wanted = [("SFT (supervised fine-tuning)", False), ("DPO (preference pairs)", False),
              ("DPO (preference pairs)", True)]  # fmt: skip
    for created, (kind, with_edits) in enumerate(wanted, start=1):
        lead.get_by_label("Kind").select_option(label=kind)
        lead.get_by_label("Format").select_option(label="Hugging Face dataset folder")
        if with_edits:
            lead.get_by_text("Filters and split").click()
            lead.get_by_label("DPO: also pair each physician's edit with the original").check()
        lead.get_by_role("button", name="Create export").click()
        expect(rows).to_have_count(created)
    for row in rows.all():
        expect(row.locator(".status")).to_have_text("Ready", timeout=60_000)

    import datasets

    def load(export: Export):
        folder = export_folder(export)
        return datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "hf-cache"))["train"]

    approved = {pk for pk, item in settled.items() if item.final_verdict in ("accept", "edit")}
    sft, dpo, dpo_with_edits = (load(export) for export in Export.objects.order_by("pk"))

    # SFT: every approved item; a pair gives the response the physicians preferred.
    sft_text = {int(row["id"].removeprefix("item-")): row["messages"][-1]["content"] for row in sft}
    assert set(sft_text) == approved and {disputed, edited} <= approved
    assert sft_text[edited].endswith("ADDED BY REVIEW.")
    for pk in pairs:
        preferred = settled[pk].final_preference
        assert sft_text[pk] == getattr(settled[pk].candidate, preferred)

    dpo_ids = {int(row["id"].removeprefix("item-")) for row in dpo}
    assert dpo_ids == {pk for pk in approved if settled[pk].candidate.is_pair}
    for row in dpo:
        pair = settled[int(row["id"].removeprefix("item-"))].candidate
        assert (row["chosen"][-1]["content"], row["rejected"][-1]["content"]) == (
            pair.output,
            pair.rejected_output,
        )
    edit_pairs = [row for row in dpo_with_edits if row["id"] == f"item-{edited}"]
    assert len(edit_pairs) == 1 and edit_pairs[0]["chosen"][-1]["content"].endswith("ADDED BY REVIEW.")

    for dataset in (sft, dpo, dpo_with_edits):
        for row in dataset:
            assert not find_phi(json.dumps(row, ensure_ascii=False)), row["id"]
