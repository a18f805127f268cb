import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from review.models import Assignment, Export
from review.queue import claim_next, submit_decision


@pytest.fixture
def decided(review_items, physician):
    """The first three items: one accepted, one edited, one rejected."""

    def next_assignment():
        return Assignment.objects.get(item=claim_next(physician), reviewer=physician)

    accepted = next_assignment()
    submit_decision(reviewer=physician, assignment_id=accepted.pk, verdict="accept")
    edited = next_assignment()
    submit_decision(
        reviewer=physician,
        assignment_id=edited.pk,
        verdict="edit",
        instruction=edited.item.candidate.instruction,
        task_input=edited.item.candidate.input,
        output="Physician's corrected answer.",
    )
    rejected = next_assignment()
    submit_decision(
        reviewer=physician, assignment_id=rejected.pk, verdict="reject", reasons=["factually_wrong"]
    )
    return {"accepted": accepted.item, "edited": edited.item, "rejected": rejected.item}


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_sft_export_holds_exactly_the_approved_records(
    decided, data_lead, client_for, settings, django_capture_on_commit_callbacks
):
    client = client_for(data_lead)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            reverse("review:export_create"),
            {"kind": "sft", "format": "jsonl"},
            headers={"HX-Request": "true"},
        )
    assert r.status_code == 200
    export = Export.objects.get()
    assert export.status == "ready" and export.record_count == 2
    download = client.get(reverse("review:export_download", args=[export.pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    records = [json.loads(line) for line in b"".join(download.streaming_content).decode().splitlines()]
    by_id = {record["id"]: record for record in records}
    assert set(by_id) == {f"item-{decided['accepted'].pk}", f"item-{decided['edited'].pk}"}
    edited = by_id[f"item-{decided['edited'].pk}"]
    assert edited["messages"][-1] == {"role": "assistant", "content": "Physician's corrected answer."}
    assert edited["edited"] is True
    accepted = by_id[f"item-{decided['accepted'].pk}"]
    assert [m["role"] for m in accepted["messages"]] == ["user", "assistant"]
    assert accepted["messages"][1]["content"] == decided["accepted"].candidate.output
    assert accepted["teacher"] == "offline"


def test_the_export_command_writes_the_same_records(decided, tmp_path):
    out = tmp_path / "sft.jsonl"
    call_command("export", "--kind", "sft", "--format", "jsonl", "--out", str(out))
    records = read_jsonl(out)
    assert len(records) == 2
    assert {r["id"] for r in records} == {f"item-{decided['accepted'].pk}", f"item-{decided['edited'].pk}"}
    assert Export.objects.get().sha256


def test_the_export_command_refuses_a_missing_folder(decided, tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("export", "--out", str(tmp_path / "nowhere" / "sft.jsonl"))


def test_the_dashboard_shows_the_funnel(decided, review_items, data_lead, client_for):
    r = client_for(data_lead).get(reverse("review:dashboard"))
    counts = r.context["counts"]
    assert counts["generated"] == 6
    assert counts["sampled"] == len(review_items) == counts["passed"]  # sampled in full
    assert (counts["reviewed"], counts["approved"], counts["rejected"]) == (3, 2, 1)
    assert counts["generated"] == counts["filtered"] + counts["passed"]


def test_physicians_cannot_see_the_dashboard_or_export(client_for, physician, decided):
    client = client_for(physician)
    assert client.get(reverse("review:dashboard")).status_code == 403
    assert client.post(reverse("review:export_create"), {"kind": "sft", "format": "jsonl"}).status_code == 403
    assert not Export.objects.exists()


def test_physicians_cannot_download_an_export(
    client_for, physician, data_lead, decided, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client_for(data_lead).post(reverse("review:export_create"), {"kind": "sft", "format": "jsonl"})
    export = Export.objects.get()
    assert client_for(physician).get(reverse("review:export_download", args=[export.pk])).status_code == 403


def test_an_unknown_export_format_gets_a_message(client_for, data_lead, db):
    r = client_for(data_lead).post(
        reverse("review:export_create"), {"kind": "sft", "format": "xlsx"}, headers={"HX-Request": "true"}
    )
    assert r.status_code == 422 and "Choose an export kind and format" in r.text
    assert not Export.objects.exists()


def test_the_export_file_appears_only_when_complete(decided, settings):
    from review.exports.build import build_export, export_path

    export = build_export(Export.objects.create())
    path = export_path(export)
    assert path.exists() and not path.with_name(path.name + ".partial").exists()


def test_a_held_back_candidate_is_exported_only_after_a_physicians_edit(decided):
    from review.exports.records import sft_records
    from synth.models import Candidate

    Candidate.objects.filter(review_item__in=[decided["accepted"], decided["edited"]]).update(held_back=True)
    ids = {record["id"] for record in sft_records()}
    assert ids == {f"item-{decided['edited'].pk}"}
