"""The whole slice as its users do it: launch a run, review its items, export what was approved."""

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from synth.demo_data import load_demo_data

pytestmark = pytest.mark.browser


def item_id(page) -> int:
    return int(re.search(r"Item #(\d+)", page.get_by_test_id("item-meta").inner_text()).group(1))


def test_admin_launches_physician_reviews_data_lead_exports(
    live_server, task_worker, login, administrator, physician, data_lead
):
    load_demo_data(with_users=False)

    # The administrator launches an offline Self-Instruct run and watches it finish.
    admin = login(administrator)
    admin.get_by_role("link", name="Launch a run").click()
    admin.get_by_label("Infectious disease").check()
    admin.get_by_label("Candidates to generate").fill("6")
    admin.get_by_label("Share sent to physicians (%)").fill("100")
    admin.get_by_role("button", name="Launch run").click()
    expect(admin.get_by_test_id("run-status")).to_have_text("Completed", timeout=60_000)
    expect(admin.get_by_test_id("generated")).to_have_text("6 / 6")
    sampled = int(admin.get_by_test_id("sampled").inner_text())
    assert sampled >= 3

    # The physician accepts one item, edits one and rejects one, without a page reload.
    doctor = login(physician)
    expect(doctor).to_have_url(re.compile(r"/review/$"))
    doctor.evaluate("window.stillTheSamePage = true")
    expect(doctor.get_by_test_id("item-meta")).to_contain_text("teacher: offline")

    accepted = item_id(doctor)
    doctor.get_by_role("button", name="Accept").click()
    expect(doctor.get_by_test_id("item-meta")).not_to_contain_text(f"Item #{accepted} ")

    edited = item_id(doctor)
    doctor.locator("summary", has_text="Edit").click()
    doctor.get_by_label("Response").fill("   ")
    doctor.get_by_role("button", name="Save edit and accept").click()
    expect(doctor.get_by_test_id("error")).to_contain_text("response cannot be empty")
    assert item_id(doctor) == edited
    doctor.get_by_label("Response").fill("A physician's corrected answer.")
    doctor.get_by_role("button", name="Save edit and accept").click()
    expect(doctor.get_by_test_id("item-meta")).not_to_contain_text(f"Item #{edited} ")

    rejected = item_id(doctor)
    doctor.locator("summary", has_text="Reject").click()
    doctor.get_by_role("button", name="Reject", exact=True).click()
    expect(doctor.get_by_test_id("error")).to_contain_text("at least one reason")
    doctor.get_by_label("Factually wrong").check()
    doctor.get_by_role("button", name="Reject", exact=True).click()
    expect(doctor.get_by_test_id("reviewed-today")).to_have_text("3")
    assert doctor.evaluate("window.stillTheSamePage") is True

    # The data lead sees the funnel and downloads an SFT export of the approved records.
    lead = login(data_lead)
    expect(lead).to_have_url(re.compile(r"/dashboard/$"))
    expect(lead.get_by_test_id("count-reviewed")).to_have_text("3")
    expect(lead.get_by_test_id("count-approved")).to_have_text("2")
    lead.get_by_role("button", name="Create export").click()
    download_link = lead.get_by_role("link", name="train.jsonl")
    expect(download_link).to_be_visible(timeout=60_000)
    with lead.expect_download() as download_info:
        download_link.click()
    lines = Path(download_info.value.path()).read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]

    exported = {record["id"] for record in records}
    assert exported == {f"item-{accepted}", f"item-{edited}"}
    assert f"item-{rejected}" not in exported
    edited_record = next(r for r in records if r["id"] == f"item-{edited}")
    assert edited_record["messages"][-1] == {
        "role": "assistant",
        "content": "A physician's corrected answer.",
    }
    assert all(record["teacher"] == "offline" for record in records)
