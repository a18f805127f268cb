"""Export formats register themselves: a new one is one class, offered and served everywhere."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from django.core.management import call_command
from django.urls import reverse

from review.exports.formats import FORMATS, ExportFormat, format_choices
from review.exports.settings import ExportSettings, ExportSettingsError
from review.forms import ExportForm
from review.models import Export


@pytest.fixture
def tsv_format():
    """A format defined here, as a new module would: tab-separated instruction and output."""

    class TsvFormat(ExportFormat):
        format = "tsv"
        label = "Tab-separated values"
        order = 50
        content_type = "text/tab-separated-values; charset=utf-8"
        sft_style = "alpaca"

        def __init__(self, path: Path, schema: pa.Schema) -> None:
            super().__init__(path, schema)
            self.stream = path.open("w", encoding="utf-8", newline="")
            self.writer = csv.writer(self.stream, delimiter="\t")
            self.writer.writerow(["id", "instruction", "output"])

        @classmethod
        def data_file(cls, split: str) -> str:
            return f"{split}.tsv"

        def write(self, records: list[dict[str, Any]]) -> None:
            self.writer.writerows([r["id"], r["instruction"], r["output"]] for r in records)
            self.records += len(records)

        def close(self) -> None:
            self.stream.close()

    yield TsvFormat
    FORMATS.pop("tsv")


def test_the_registered_formats_in_their_order():
    assert list(FORMATS) == ["jsonl", "parquet", "hf", "csv"]
    assert format_choices()[0] == ("jsonl", "JSON Lines")


def test_a_new_format_is_offered_validated_built_and_served(
    tsv_format, double_reviewed, data_lead, client, django_capture_on_commit_callbacks, tmp_path
):
    assert ("tsv", "Tab-separated values") in ExportForm().fields["format"].choices
    assert ExportSettings.load({"format": "tsv", "sft_style": "messages"}).sft_style == "alpaca"

    client.force_login(data_lead)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("review:export_create"), {"kind": "sft", "format": "tsv"}, headers={"HX-Request": "true"}
        )
    made = Export.objects.get()
    assert made.status == "ready" and made.record_count == 4
    response = client.get(reverse("review:export_file", args=[made.pk, "train.tsv"]))
    assert response["Content-Type"] == "text/tab-separated-values; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode()), delimiter="\t"))
    assert rows[0] == ["id", "instruction", "output"] and len(rows) == 5
    manifest = client.get(reverse("review:export_file", args=[made.pk, "manifest.json"]))
    assert manifest["Content-Type"] == "application/json"

    call_command("export", "--format", "tsv", "--out", str(tmp_path / "out"))
    assert len((tmp_path / "out" / "train.tsv").read_text().splitlines()) == 5


def test_an_unknown_format_is_refused_with_the_choices():
    with pytest.raises(
        ExportSettingsError, match="'xlsx' is not an export format: choose one of jsonl, parquet"
    ):
        ExportSettings.load({"format": "xlsx"})


def test_the_page_refuses_an_unknown_format_and_creates_nothing(double_reviewed, data_lead, client):
    client.force_login(data_lead)
    response = client.post(
        reverse("review:export_create"), {"kind": "sft", "format": "xlsx"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    assert not Export.objects.exists()
