"""Hostile query-set files and documents are refused with the line and what to fix, never with a 500,
and nothing of them is stored (on SQLite and on PostgreSQL, which refuses NUL in text)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from synth.models import Query, SourceDocument
from synth.techniques.documents import DocumentError, add_document
from synth.techniques.queries import QueryImportError, import_queries
from tests.synth.test_uploads import upload, uploaded_sets


@pytest.fixture
def demo(db, settings):
    call_command("seed_demo", "--no-users")
    settings.DEBUG = True  # as `make demo` runs: the error page itself must not be needed


def no_new_queries() -> bool:
    """seed_demo brings its own sample set; nothing beyond it may be stored."""
    return not uploaded_sets().exists() and not Query.objects.filter(query_set__in=uploaded_sets()).exists()


@pytest.fixture
def documents_before(demo):
    return set(SourceDocument.objects.values_list("pk", flat=True))


def no_new_documents(before: set[int]) -> bool:
    return set(SourceDocument.objects.values_list("pk", flat=True)) == before


def refused(response, *fragments: str) -> None:
    assert response.status_code == 422, response.status_code
    text = response.content.decode()
    assert "Nothing was imported" in text
    for fragment in fragments:
        assert fragment in text, fragment
    assert no_new_queries()


CLEAN_LINES = b"".join(b'{"query": "Define shock, case %d."}\n' % n for n in range(3))


def test_a_csv_field_over_the_readers_limit(admin_client, demo):
    content = b'question\nDefine shock.\n"' + b"a" * 140_000 + b'"\nDefine sepsis.\n'
    refused(
        upload(admin_client, "long.csv", content),
        "line 3: a field is longer than 131,072 characters",
        "missing closing quote",
    )


def test_an_unclosed_quote_that_swallows_the_file(admin_client, demo):
    content = b'question\n"Define shock.\n' + b"More text.\n" * 20_000
    refused(upload(admin_client, "quote.csv", content), "a field is longer than 131,072 characters")


@pytest.mark.parametrize(
    "line",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"query": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"query": "ok", "input": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_000 + b"}",
    ],
)
def test_json_lines_nested_100000_deep(admin_client, demo, line):
    refused(
        upload(admin_client, "deep.jsonl", CLEAN_LINES + line + b"\n"),
        "line 4: the JSON is nested 100,00",
        "levels deep",
        "flat object",
    )


def test_a_lone_surrogate_escape(admin_client, demo):
    content = CLEAN_LINES + b'{"query": "Define \\ud800 shock."}\n'
    refused(upload(admin_client, "surrogate.jsonl", content), "line 4: the query contains a lone surrogate")


def test_a_lone_surrogate_in_the_input_or_domain(admin_client, demo):
    content = (
        b'{"query": "Define shock.", "input": "x\\udfff"}\n{"query": "Define sepsis.", "domain": "\\ud83d"}\n'
    )
    refused(
        upload(admin_client, "surrogate.jsonl", content),
        "line 1: the input contains a lone surrogate",
        "line 2: the domain contains a lone surrogate",
    )


def test_surrogate_bytes_in_a_csv_are_not_utf8(admin_client, demo):
    refused(upload(admin_client, "cesu.csv", b"question\nDefine \xed\xa0\x80 shock.\n"), "not UTF-8 text")


def test_a_nul_escape_in_json_lines(admin_client, demo):
    content = CLEAN_LINES + b'{"query": "Define\\u0000 shock."}\n'
    refused(upload(admin_client, "nul.jsonl", content), "line 4: the query contains a NUL character")


def test_a_nul_byte_deep_in_a_csv(admin_client, demo):
    """Past the first 8 kB that the form looks at for binary data."""
    content = b"question\n" + b"Define shock.\n" * 1000 + b"Define\x00 sepsis.\n"
    refused(upload(admin_client, "nul.csv", content), "line 1002: the query contains a NUL character")


def test_a_nul_in_typed_questions(admin_client, demo):
    r = admin_client.post(reverse("synth:query_sets"), {"name": "typed", "typed": "Define\x00 shock."})
    assert r.status_code == 422 and "Null characters are not allowed" in r.text
    assert no_new_queries()


def test_a_good_file_after_a_refused_one_is_imported(admin_client, demo):
    upload(admin_client, "nul.jsonl", CLEAN_LINES + b'{"query": "x\\u0000"}\n')
    assert upload(admin_client, "good.jsonl", CLEAN_LINES).status_code == 302
    assert uploaded_sets().get().queries.count() == 3


def test_the_import_service_refuses_them_too(demo):
    for content, format in (
        ('{"query": "a\\u0000"}', "jsonl"),
        ("Define \ud800 shock.", "lines"),
        ("Define \x00 shock.", "lines"),
    ):
        with pytest.raises(QueryImportError, match="line 1"):
            import_queries(name="x", content=content, format=format)
    with pytest.raises(QueryImportError, match="NUL"):
        import_queries(name="x\x00", content="Define shock.", format="lines")
    assert no_new_queries()


# Documents ----------------------------------------------------------------------------------------


def test_a_document_with_a_nul_is_refused(admin_client, documents_before):
    r = admin_client.post(reverse("synth:documents"), {"title": "Note", "text": "Asthma\x00 care."})
    assert r.status_code == 422 and "Null characters are not allowed" in r.text
    assert no_new_documents(documents_before)


def test_a_document_over_131072_characters_is_refused(admin_client, documents_before):
    r = admin_client.post(reverse("synth:documents"), {"title": "Long", "text": "a" * 131_073})
    assert r.status_code == 422 and "longer than 20,000 characters" in r.text
    assert no_new_documents(documents_before)


def test_invalid_utf8_in_a_document_is_not_a_500(admin_client, documents_before):
    r = admin_client.post(
        reverse("synth:documents"),
        data="title=Note&text=Asthma%ED%A0%80care%00x",
        content_type="application/x-www-form-urlencoded",
    )
    assert r.status_code == 422 and "Null characters are not allowed" in r.text
    assert no_new_documents(documents_before)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Asthma\x00 care.", "NUL character"),
        ("Asthma\nthen \ud800 care.", "line 2) contains a lone surrogate"),
    ],
)
def test_the_document_service_refuses_them(documents_before, text, why):
    with pytest.raises(DocumentError, match=why.replace("(", r"\(").replace(")", r"\)")):
        add_document(title="Note", text=text)
    assert no_new_documents(documents_before)
