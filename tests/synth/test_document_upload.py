"""Documents uploaded as files on the documents page, several at once: each PHI-screened and shown with
its result; a batch with one bad file is refused whole; only administrators may upload."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from synth.models import Domain, SourceDocument

PHI_NOTE = "Patient John Smith, MRN 12345678, was seen for asthma and given a written action plan."


@pytest.fixture
def admin(db, client):
    call_command("seed_demo", stdout=StringIO())
    client.force_login(get_user_model().objects.get(username="admin"))
    return client


def files(**named: bytes) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(name.replace("_", "."), content) for name, content in named.items()]


def test_it_uploads_several_files_and_shows_each_with_its_phi_screen(admin):
    before = set(SourceDocument.objects.values_list("pk", flat=True))
    upload = files(
        plan_txt=b"Asthma review: inhaler technique checked and a written plan given.",
        copd_md=b"# COPD follow-up\n\nSpirometry confirmed obstruction; refer to pulmonary rehabilitation.\n",
        named_jsonl=f'{{"title": "Named patient", "text": "{PHI_NOTE}"}}\n'.encode(),
    )
    domain = Domain.objects.get(slug="respiratory")
    r = admin.post(reverse("synth:documents_upload"), {"files": upload, "domain": domain.pk})
    assert r.status_code == 302 and "?added=" in r.url
    added = SourceDocument.objects.exclude(pk__in=before)
    assert added.count() == 3 and all(d.domain == domain for d in added)
    held = added.get(title="Named patient")
    assert held.held_back and {f["kind"] for f in held.phi_findings} == {"mrn"}

    page = admin.get(r.url)
    assert "3 documents added; 1 held back: the PHI screen found identifiers." in page.text
    just_added = page.text.split('data-testid="added"', 1)[1].split("</section>", 1)[0]
    assert just_added.count("<tr>") == 4  # a header and one row per document
    named_row = just_added.split("Named patient", 1)[1].split("</tr>", 1)[0]
    assert "Held back" in named_row and "mrn “12345678”" in named_row
    for title in ("plan.txt", "COPD follow-up"):
        assert "Clear" in just_added.split(title, 1)[1].split("</tr>", 1)[0]


def test_one_bad_file_refuses_the_whole_upload_and_says_what_to_fix(admin):
    before = set(SourceDocument.objects.values_list("pk", flat=True))
    upload = files(good_txt=b"Asthma care.", notes_jsonl=b'{"title": "a", "text": "b"}\n{"title": "c",\n')
    r = admin.post(reverse("synth:documents_upload"), {"files": upload})
    assert r.status_code == 422
    assert "Nothing was imported" in r.text and "&#x27;notes.jsonl&#x27; line 2: not valid JSON" in r.text
    assert set(SourceDocument.objects.values_list("pk", flat=True)) == before


def test_an_oversized_file_is_named(admin, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    r = admin.post(reverse("synth:documents_upload"), {"files": files(big_txt=b"Asthma. " * 200)})
    assert r.status_code == 422 and "&#x27;big.txt&#x27; is larger than the 1 kB limit" in r.text


def test_no_file_is_refused(admin):
    r = admin.post(reverse("synth:documents_upload"), {})
    assert r.status_code == 422 and "Choose one or more files to upload" in r.text


def test_it_needs_post_and_an_administrator(admin, client):
    assert admin.get(reverse("synth:documents_upload")).status_code == 405
    client.force_login(get_user_model().objects.get(username="physician"))
    r = client.post(reverse("synth:documents_upload"), {"files": files(a_txt=b"Asthma care.")})
    assert r.status_code == 403
    assert "Query sets" not in client.get(reverse("review:review")).text  # not in a physician's menu


def test_query_sets_and_documents_are_in_the_administrators_navigation(admin):
    page = admin.get(reverse("synth:run_list")).text
    nav = page.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    assert reverse("synth:query_sets") in nav and reverse("synth:documents") in nav
