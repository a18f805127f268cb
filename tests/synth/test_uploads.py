"""Uploads refused whole with a message that says what to fix: wrong type, binary, oversized, bad names."""

from __future__ import annotations

import pytest
from django.urls import reverse

from synth.demo_data import SAMPLE_QUERY_SET
from synth.models import QuerySet, SourceDocument

BOUNDARY = "studio-test-boundary"


def multipart(fields: dict[str, str], filename: str, content: bytes) -> bytes:
    """A multipart body built by hand: the test client would clean the file name before sending it."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def upload(client, filename: str, content: bytes, name: str = "ed"):
    return client.post(
        reverse("synth:query_sets"),
        data=multipart({"name": name}, filename, content),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )


def uploaded_sets():
    return QuerySet.objects.exclude(name=SAMPLE_QUERY_SET)  # (seed_demo adds a sample set)


GOOD_CSV = b"question\nDefine shock.\nName two beta blockers.\n"


def test_a_file_of_the_wrong_type_is_refused(admin_client, demo_config):
    r = upload(admin_client, "queries.xlsx", b"PK\x03\x04 a spreadsheet")
    assert r.status_code == 422
    assert "is not a JSON Lines or CSV file" in r.text and "CSV UTF-8" in r.text
    assert not uploaded_sets().exists()


def test_binary_data_under_a_csv_name_is_refused(admin_client, demo_config):
    r = upload(admin_client, "queries.csv", b"question\n\x00\x01\x02binary")
    assert r.status_code == 422 and "holds binary data" in r.text
    assert not uploaded_sets().exists()


def test_an_oversized_file_is_refused_while_it_streams_in(admin_client, demo_config, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    r = upload(admin_client, "big.csv", b"question\n" + b"Is this too long?\n" * 200)
    assert r.status_code == 422
    assert "&#x27;big.csv&#x27; is larger than the 1 kB limit: split it" in r.text
    assert not uploaded_sets().exists()
    assert upload(admin_client, "small.csv", GOOD_CSV).status_code == 302  # under the limit: fine


@pytest.mark.parametrize("filename", ["../../etc/queries.csv", "..\\..\\queries.csv", "/var/x/queries.csv"])
def test_a_path_in_the_file_name_is_never_used_as_one(admin_client, demo_config, filename):
    # Uploads are read in memory and never written under their own name; only the base name is
    # kept, as the query set's label.
    assert upload(admin_client, filename, GOOD_CSV).status_code == 302
    assert uploaded_sets().get().source == "queries.csv"


@pytest.mark.parametrize("filename", ["..", "", "../", "."])
def test_a_file_name_with_nothing_left_is_refused(admin_client, demo_config, filename):
    r = upload(admin_client, filename, GOOD_CSV)
    assert r.status_code == 422 and "Choose a file to upload, or type the questions" in r.text
    assert not uploaded_sets().exists()


def test_hostile_markup_in_file_and_set_names_is_shown_escaped(admin_client, demo_config):
    r = upload(admin_client, "<img src=x onerror=alert(1)>.csv", GOOD_CSV, name="<script>alert(1)</script>")
    assert r.status_code == 302
    page = admin_client.get(reverse("synth:query_sets")).text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page


def test_a_document_over_the_request_size_limit_gets_a_page_that_says_so(client, administrator, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    settings.DEBUG = False
    client.force_login(administrator)
    r = client.post(reverse("synth:documents"), {"title": "Long", "text": "word " * 5000})
    assert r.status_code == 400
    assert "over the size limit" in r.text and "Nothing was changed" in r.text
    assert not SourceDocument.objects.exists()


def test_a_text_file_is_one_query_per_line_as_on_the_command_line(admin_client, demo_config):
    assert (
        upload(admin_client, "questions.txt", b"Define shock.\n\nName two beta blockers.\n").status_code
        == 302
    )
    assert list(uploaded_sets().get().queries.order_by("line").values_list("line", "text")) == [
        (1, "Define shock."),
        (3, "Name two beta blockers."),
    ]


def test_an_empty_file_is_refused_with_its_name(admin_client, demo_config):
    r = upload(admin_client, "empty.jsonl", b"\n  \n")
    assert r.status_code == 422 and "&#x27;empty.jsonl&#x27; is empty: nothing to import." in r.text
    assert not uploaded_sets().exists()
