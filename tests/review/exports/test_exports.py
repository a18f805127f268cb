"""Exports hold exactly the records their settings select, in the shapes TRL and `datasets` read."""

import hashlib
import io
import json
import re
import threading
import zipfile

import pyarrow.parquet as pq
import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from review.exports.build import ExportError, build_export
from review.exports.records import read_ahead
from review.models import Batch, Export
from synth.models import Candidate

# TRL's documented dataset formats (https://huggingface.co/docs/trl/dataset_formats).
MESSAGE = {"role", "content"}
APPROVED = (0, 1, 3, 4)  # of the six scripted items: accepted, edited, adjudicated accept, edited


@pytest.fixture(autouse=True)
def _offline_datasets(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))


def load_folder(folder):
    import datasets

    return datasets.load_dataset(str(folder), cache_dir=str(folder.parent / "hf-cache"))


def export(**settings):
    kind = settings.pop("kind", "sft")
    fmt = settings.pop("format", "jsonl")
    return build_export(Export.objects.create(kind=kind, format=fmt, filters=settings))


def folder_of(export_row):
    from review.exports.build import export_folder

    return export_folder(export_row)


def message_fields(feature) -> set:
    """The fields of a list-of-messages column's items (datasets' List feature)."""
    return set(feature.feature)


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def ids(items, positions):
    return {f"item-{items[i].pk}" for i in positions}


def test_sft_messages_hold_the_approved_records_with_a_system_prompt(double_reviewed):
    row = export()
    records = read_jsonl(folder_of(row) / "train.jsonl")
    assert {r["id"] for r in records} == ids(double_reviewed, APPROVED)
    for record in records:
        assert [m["role"] for m in record["messages"]] == ["system", "user", "assistant"]
        assert all(set(m) == MESSAGE for m in record["messages"])
    by_id = {r["id"]: r for r in records}
    edited_item = double_reviewed[1]
    edited = by_id[f"item-{edited_item.pk}"]
    assert edited["messages"][-1]["content"] == "Corrected answer by physician2 for item 1."
    assert edited["edited"] is True and edited["reviewed"] is True and edited["released"] is False
    # One accepted, the other edited: the texts differ, so (blind review) a senior chose the edit.
    assert [(r["role"], r["verdict"]) for r in edited["reviews"]] == [
        ("reviewer", "accept"),
        ("reviewer", "edit"),
        ("adjudicator", "accept"),
    ]
    adjudicated = by_id[f"item-{double_reviewed[3].pk}"]
    assert adjudicated["reviews"][-1]["role"] == "adjudicator"
    assert adjudicated["teacher"] == "offline" and adjudicated["technique"] == "self_instruct"
    assert row.record_count == 4 == row.manifest["counts"]["records"]


@pytest.mark.parametrize("page_size", [1, 5000])
def test_pages_read_by_a_thread_of_their_own_hold_the_same_records(
    transactional_db, reviewed_by_two, settings, page_size
):
    """Outside any transaction (as the export worker runs), on PostgreSQL, a thread with its own
    connection reads the pages ahead while the records are written (records.read_ahead): the same
    records, in the same order, as read in the caller's thread inside a transaction."""
    settings.EXPORT_PAGE_SIZE = page_size
    items = reviewed_by_two()
    read_ahead = read_jsonl(folder_of(export(stable_pseudonyms=True)) / "train.jsonl")
    with transaction.atomic():
        inline = read_jsonl(folder_of(export(stable_pseudonyms=True)) / "train.jsonl")
    assert [r["id"] for r in read_ahead] == sorted(
        (f"item-{items[i].pk}" for i in APPROVED), key=lambda i: int(i[5:])
    )
    assert read_ahead == inline


@pytest.mark.django_db(transaction=True)
def test_the_reader_thread_reads_on_a_connection_of_its_own_outside_the_pool():
    """The export's reader (records.read_ahead) never takes a second connection from its process's
    pool, sized one per thread: it opens its own, and closes it when done (PostgreSQL; SQLite reads
    in the caller's thread)."""
    seen = []

    def pages():
        seen.append((threading.current_thread().name, getattr(connection, "pool", None), connection.vendor))
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            yield cursor.fetchone()[0]

    assert list(read_ahead(pages)) == [1]
    if connection.vendor == "postgresql":
        assert seen == [("export-reader", None, "postgresql")]
    else:
        assert seen == [(threading.current_thread().name, None, "sqlite")]


def test_prompt_completion_and_alpaca_styles(double_reviewed):
    records = read_jsonl(folder_of(export(sft_style="prompt_completion", system_prompt="")) / "train.jsonl")
    assert all([m["role"] for m in r["prompt"]] == ["user"] for r in records)
    assert all([m["role"] for m in r["completion"]] == ["assistant"] for r in records)
    alpaca = read_jsonl(folder_of(export(sft_style="alpaca")) / "train.jsonl")
    candidate = double_reviewed[0].candidate
    first = next(r for r in alpaca if r["id"] == f"item-{double_reviewed[0].pk}")
    assert (first["instruction"], first["input"], first["output"]) == (
        candidate.instruction,
        candidate.input,
        candidate.output,
    )


def test_the_manifest_holds_counts_settings_hashes_and_the_snapshot(double_reviewed):
    row = export(validation_share=0.5, seed=3)
    folder = folder_of(row)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["settings"]["seed"] == 3 and manifest["settings"]["validation_share"] == 0.5
    assert sum(manifest["counts"]["splits"].values()) == 4 == manifest["counts"]["records"]
    assert manifest["snapshot_at"] and manifest["filter_counts"][0]["records"] == 4
    for entry in manifest["files"]:
        assert hashlib.sha256((folder / entry["path"]).read_bytes()).hexdigest() == entry["sha256"]
    assert hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest() == row.sha256
    # The same seed gives the same split.
    again = json.loads((folder_of(export(validation_share=0.5, seed=3)) / "manifest.json").read_text())
    assert again["counts"]["splits"] == manifest["counts"]["splits"]


def test_an_sft_dataset_folder_loads_with_datasets_as_trl_reads_it(double_reviewed):
    row = export(format="hf", validation_share=0.5, seed=1)
    folder = folder_of(row)
    dataset = load_folder(folder)
    splits = row.manifest["counts"]["splits"]
    assert set(dataset) == set(splits)
    assert sum(len(dataset[s]) for s in dataset) == 4
    train = dataset["train"]
    assert {"messages", "id", "technique", "teacher", "reviewed", "released", "edited", "reviews"} <= set(
        train.column_names
    )
    assert message_fields(train.features["messages"]) == MESSAGE  # a list of {role, content}
    assert [m["role"] for m in train[0]["messages"]] == ["system", "user", "assistant"]
    card = (folder / "README.md").read_text()
    assert card.startswith("---\n") and "configs:" in card and "Krippendorff's alpha" in card


def test_dpo_pairs_follow_the_physicians_preference_and_edit(double_reviewed_pairs):
    items = double_reviewed_pairs
    records = {r["id"]: r for r in read_jsonl(folder_of(export(kind="dpo")) / "train.jsonl")}
    assert set(records) == ids(items, (0, 1, 3))  # the tie is left out
    swapped = records[f"item-{items[0].pk}"]
    assert swapped["chosen"] == [{"role": "assistant", "content": "Other answer 0."}]
    assert swapped["rejected"] == [{"role": "assistant", "content": items[0].candidate.output}]
    edited = records[f"item-{items[1].pk}"]
    assert edited["chosen"][0]["content"] == "Corrected answer by physician2 for item 1."
    assert edited["rejected"][0]["content"] == "Other answer 1."
    assert [m["role"] for m in edited["prompt"]] == ["system", "user"]


def test_dpo_from_edits_pairs_the_edit_with_the_original(double_reviewed):
    items = double_reviewed
    plain = read_jsonl(folder_of(export(kind="dpo", dpo_from_edits=True)) / "train.jsonl")
    assert {r["id"] for r in plain} == ids(items, (1, 4))
    record = next(r for r in plain if r["id"] == f"item-{items[4].pk}")
    assert record["chosen"][0]["content"] == "Corrected answer by physician for item 4."
    assert record["rejected"][0]["content"] == items[4].candidate.output


def test_without_pairs_a_dpo_export_is_empty_and_its_filter_counts_say_why(double_reviewed):
    row = export(kind="dpo")
    # Not "ready": an empty export says so, with the filter that left nothing, and has no folder.
    assert row.status == "empty" and row.record_count == 0
    assert row.error.startswith("No approved records match these filters (none left after: preference pairs")
    assert not folder_of(row).exists() and not list(folder_of(row).parent.glob("*"))
    assert [step["records"] for step in row.manifest["filter_counts"]] == [4, 0]
    assert "ties and 'both unacceptable' left out" in row.manifest["filter_counts"][1]["step"]


def test_a_dpo_dataset_folder_loads_in_trl_preference_format(double_reviewed_pairs):
    dataset = load_folder(folder_of(export(kind="dpo", format="hf")))["train"]
    assert {"prompt", "chosen", "rejected"} <= set(dataset.column_names)
    for column in ("prompt", "chosen", "rejected"):
        assert message_fields(dataset.features[column]) == MESSAGE
    assert len(dataset) == 3


def test_parquet_is_written_in_row_groups_with_the_schema(double_reviewed, settings):
    settings.EXPORT_PAGE_SIZE = 2
    path = folder_of(export(format="parquet")) / "train.parquet"
    parquet = pq.ParquetFile(path)
    assert parquet.metadata.num_rows == 4 and parquet.num_row_groups == 2
    table = parquet.read()
    assert table.schema.field("messages").type.value_type.names == ["role", "content"]


def test_filters_by_domain_technique_date_and_agreement(double_reviewed):
    domain = double_reviewed[0].candidate.domain.slug
    assert export(domains=[domain]).record_count == 4
    assert export(domains=["cardiology"]).record_count == 0
    assert export(techniques=["self_instruct"]).record_count == 4
    assert export(techniques=["evol_instruct"]).record_count == 0
    today = timezone.now().date()
    assert export(date_from=str(today), date_to=str(today)).record_count == 4
    assert export(date_to="2000-01-01").record_count == 0
    assert export(min_agreement=0.3).record_count == 4  # the domain's alpha is 0.3125
    row = export(min_agreement=0.5)
    assert row.record_count == 0
    assert row.manifest["filter_counts"][-1]["step"].startswith("domain agreement")


def test_bad_settings_get_a_message(double_reviewed):
    with pytest.raises(ExportError, match="start date is after the end date"):
        export(date_from="2026-02-01", date_to="2026-01-01")
    with pytest.raises(ExportError, match="validation_share"):
        export(validation_share=1.5)


def test_released_batches_add_unreviewed_records_marked_as_such(
    double_reviewed, demo_config, data_lead, django_capture_on_commit_callbacks
):
    from synth.generation import launch_run
    from synth.models import Domain

    with django_capture_on_commit_callbacks(execute=True):
        run = launch_run(
            teacher=demo_config,
            technique="self_instruct",
            requested_count=4,
            sample_rate=0.0,
            domains=[Domain.objects.get(slug="cardiology")],
        )
    Batch.objects.filter(run=run).update(released_at=timezone.now(), released_by=data_lead)
    passed = Candidate.objects.filter(run=run, status="passed", held_back=False).count()
    assert passed > 0
    assert export().record_count == 4  # reviewed only, by default
    records = read_jsonl(folder_of(export(include_released=True)) / "train.jsonl")
    released = [r for r in records if r["released"]]
    assert len(records) == 4 + passed and len(released) == passed
    assert all(r["reviewed"] is False and r["reviews"] == [] for r in released)


def test_the_dataset_card_agreement_matches_the_agreement_report(double_reviewed, capsys):
    row = export(format="hf")
    card = (folder_of(row) / "README.md").read_text()
    call_command("agreement_report", "--json")
    report = json.loads(capsys.readouterr().out)
    overall = report["overall"]
    line = re.search(
        r"Krippendorff's alpha \(nominal\): ([\d.]+) \(95% bootstrap interval ([\d.-]+) to ([\d.-]+)\)", card
    )
    assert line, card
    assert [float(g) for g in line.groups()] == pytest.approx(
        [overall["alpha"], *overall["alpha_ci"]], abs=5e-4
    )
    for name, row in report["by_domain"].items():
        assert f"| {name} | {row['items']} | {row['alpha']:.4f} |" in card


def test_the_command_writes_a_dataset_folder(double_reviewed_pairs, tmp_path, capsys):
    out = tmp_path / "dpo-set"
    call_command("export", "--kind", "dpo", "--format", "hf", "--out", str(out), "--validation-share", "0.3")
    assert "Wrote 3 records" in capsys.readouterr().out
    assert (out / "README.md").exists() and (out / "manifest.json").exists()
    dataset = load_folder(out)
    assert sum(len(dataset[s]) for s in dataset) == 3


def test_the_command_refuses_a_missing_parent_a_used_folder_and_a_bad_date(double_reviewed, tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("export", "--out", str(tmp_path / "nowhere" / "sft"))
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    with pytest.raises(CommandError, match="not an empty folder"):
        call_command("export", "--out", str(used))
    assert (used / "keep.txt").read_text() == "mine"
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("export", "--out", str(tmp_path / "x"), "--from", "yesterday")
    assert not Export.objects.exists()


def test_the_export_folder_appears_only_when_complete(double_reviewed):
    folder = folder_of(export())
    assert folder.is_dir() and not folder.with_name(folder.name + ".partial").exists()


def test_a_held_back_candidate_is_exported_only_after_a_physicians_edit(double_reviewed):
    items = double_reviewed
    Candidate.objects.filter(pk__in=[items[0].candidate_id, items[1].candidate_id]).update(held_back=True)
    records = read_jsonl(folder_of(export()) / "train.jsonl")
    assert {r["id"] for r in records} == ids(items, (1, 3, 4))


# The pages: who may create and download, and what the download is.


def create_from_page(client, django_capture_on_commit_callbacks, **data):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(
            reverse("review:export_create"),
            {"kind": "sft", "format": "jsonl", **data},
            headers={"HX-Request": "true"},
        )


def test_the_data_lead_creates_an_export_and_downloads_it_as_a_streamed_zip(
    double_reviewed, data_lead, client_for, django_capture_on_commit_callbacks
):
    client = client_for(data_lead)
    r = create_from_page(client, django_capture_on_commit_callbacks, format="hf", validation_share="0.25")
    assert r.status_code == 200
    row = Export.objects.get()
    assert row.status == "ready" and row.record_count == 4 and row.progress == row.total == 4
    download = client.get(reverse("review:export_download", args=[row.pk]))
    assert download.status_code == 200 and download.streaming
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    names = {name.split("/", 1)[1] for name in archive.namelist()}
    assert {"README.md", "manifest.json"} <= names and any(n.startswith("data/train") for n in names)
    manifest = json.loads(next(archive.read(n) for n in archive.namelist() if n.endswith("manifest.json")))
    for entry in manifest["files"]:
        data = next(archive.read(n) for n in archive.namelist() if n.endswith("/" + entry["path"]))
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]


def test_one_file_of_an_export_downloads_on_its_own(
    double_reviewed, data_lead, client_for, django_capture_on_commit_callbacks
):
    client = client_for(data_lead)
    create_from_page(client, django_capture_on_commit_callbacks)
    row = Export.objects.get()
    r = client.get(reverse("review:export_file", args=[row.pk, "train.jsonl"]))
    assert r.status_code == 200 and r["X-Content-Type-Options"] == "nosniff"
    lines = b"".join(r.streaming_content).decode().splitlines()
    assert len(lines) == 4
    assert client.get(reverse("review:export_file", args=[row.pk, "../../etc/passwd"])).status_code == 404


def test_bad_settings_from_the_page_get_a_message_and_create_nothing(
    double_reviewed, data_lead, client_for, django_capture_on_commit_callbacks
):
    client = client_for(data_lead)
    r = create_from_page(
        client, django_capture_on_commit_callbacks, date_from="2026-02-01", date_to="2026-01-01"
    )
    assert r.status_code == 422 and "start date is after the end date" in r.text
    r = create_from_page(client, django_capture_on_commit_callbacks, format="xlsx")
    assert r.status_code == 422 and "Check the export settings" in r.text
    assert not Export.objects.exists()


def test_physicians_cannot_create_or_download_exports(
    double_reviewed, physician, data_lead, client_for, django_capture_on_commit_callbacks
):
    create_from_page(client_for(data_lead), django_capture_on_commit_callbacks)
    row = Export.objects.get()
    client = client_for(physician)
    assert client.post(reverse("review:export_create"), {"kind": "sft", "format": "jsonl"}).status_code == 403
    assert client.get(reverse("review:export_download", args=[row.pk])).status_code == 403
    assert client.get(reverse("review:export_file", args=[row.pk, "train.jsonl"])).status_code == 403
    assert Export.objects.count() == 1


def test_the_download_checks_the_role_every_time(
    double_reviewed, data_lead, client_for, django_capture_on_commit_callbacks
):
    client = client_for(data_lead)
    create_from_page(client, django_capture_on_commit_callbacks)
    url = reverse("review:export_download", args=[Export.objects.get().pk])
    assert client.get(url).status_code == 200
    data_lead.groups.remove(Group.objects.get(name="Data lead"))
    assert client.get(url).status_code == 403


def test_the_administrator_can_export(
    double_reviewed, administrator, client_for, django_capture_on_commit_callbacks
):
    client = client_for(administrator)
    create_from_page(client, django_capture_on_commit_callbacks, kind="sft", format="parquet")
    row = Export.objects.get()
    assert row.status == "ready"
    assert client.get(reverse("review:export_download", args=[row.pk])).status_code == 200


def test_anonymous_visitors_go_to_the_login_page(double_reviewed, client):
    r = client.get(reverse("review:export_download", args=[1]))
    assert r.status_code == 302 and "/login" in r["Location"]


def test_the_export_form_rejects_get(data_lead, client_for):
    assert client_for(data_lead).get(reverse("review:export_create")).status_code == 405
