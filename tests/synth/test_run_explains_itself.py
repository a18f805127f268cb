"""A run page that explains itself: what left texts out, by reason, each count linking to the texts;
"re-run with the same settings"; no message that goes out of date; the run's status from its state."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from synth.generation import launch_run
from synth.models import (
    Candidate,
    DiscardedText,
    Domain,
    GenerationRun,
    SeedTask,
    Teacher,
    TeacherCall,
)
from synth.techniques.queries import import_queries


@pytest.fixture
def admin_client(client_for, administrator):
    return client_for(administrator)


@pytest.fixture
def launched(demo_config, django_capture_on_commit_callbacks):
    def launch(**settings) -> GenerationRun:
        with django_capture_on_commit_callbacks(execute=True):
            run = launch_run(teacher=demo_config, sample_rate=0.0, **settings)
        run.refresh_from_db()
        return run

    return launch


def reason_links(page: str) -> dict[str, tuple[str, int]]:
    """Each reason link of the run page: {"<kind>-<reason>": (url, count)}."""
    return {
        testid: (html.unescape(url), int(count))
        for url, testid, count in re.findall(
            r'<a href="([^"]+)" data-testid="reason-([\w-]+)">[^<]*\((\d+)\)</a>', page
        )
    }


def texts_on(client, url: str) -> list[str]:
    r = client.get(url)
    assert r.status_code == 200, r.text[:2000]
    return re.findall(r'data-testid="left-out-text"', r.text)


def test_the_filtered_count_is_split_by_reason_and_each_links_to_its_texts(admin_client, launched):
    infectious = [Domain.objects.get(slug="infectious-disease")]
    first = launched(technique="self_instruct", requested_count=8, domains=infectious)
    again = launched(technique="self_instruct", requested_count=8, domains=infectious)
    # The offline teacher is deterministic: the same run again repeats the first one's texts.
    assert again.filtered_count + again.discarded_count > 0
    page = admin_client.get(reverse("synth:run_detail", args=[again.pk])).text
    links = reason_links(page)
    assert links, page
    filtered = {k: v for k, v in links.items() if k.startswith("filtered-")}
    assert sum(n for _url, n in filtered.values()) == again.filtered_count
    discarded = {k: v for k, v in links.items() if k.startswith("discarded-")}
    assert sum(n for _url, n in discarded.values()) == again.discarded_count
    for url, count in links.values():
        assert len(texts_on(admin_client, url)) == count
    if "filtered-exact_duplicate" in links:
        # Which text it repeats: the original's own words.
        text = admin_client.get(links["filtered-exact_duplicate"][0]).text
        original = re.search(r"Repeats (\w+) #(\d+)", text)
        assert original
        kind, pk = original.groups()
        words = (
            Candidate.objects.get(pk=pk).instruction
            if kind in ("candidate", "pair")
            else SeedTask.objects.get(pk=pk).instruction
        )
        assert html.escape(words[:40], quote=True) in text
    assert first.pk != again.pk


def test_dropped_drafts_link_to_their_texts_with_evidence(admin_client, launched, demo_config):
    run = GenerationRun.objects.create(
        teacher=demo_config, technique="self_instruct", requested_count=1, sample_rate=0
    )
    DiscardedText.objects.create(
        run=run, reason="needs_media", text="Describe the attached X-ray.", evidence={"word": "X-ray"}
    )
    page = admin_client.get(reverse("synth:run_detail", args=[run.pk])).text
    url, count = reason_links(page)["discarded-needs_media"]
    assert count == 1 and "Needs an image or a file (1)" in page
    text = admin_client.get(url).text
    assert "Describe the attached X-ray." in text and "&#x27;word&#x27;: &#x27;X-ray&#x27;" in text


def test_failed_calls_by_reason_link_to_the_questions_asked(admin_client, launched):
    # The offline teacher answers only what its knowledge base holds: not these.
    query_set = import_queries(
        name="Unanswerable",
        content="Which poem did the attending recite at rounds?\nWhat colour is the hospital's front door?\n",
        format="lines",
    )
    run = launched(technique="distillation", requested_count=2, options={"query_set": query_set.pk})
    failed = TeacherCall.objects.filter(run=run, status="failed")
    assert failed.exists()
    page = admin_client.get(reverse("synth:run_detail", args=[run.pk])).text
    links = reason_links(page)
    reason = failed.first().reason or "other"
    url, count = links[f"failed-{reason}"]
    assert count == failed.filter(reason=failed.first().reason).count()
    text = admin_client.get(url).text
    assert len(re.findall('data-testid="left-out-text"', text)) == count
    assert "Asked" in text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("kind=lost&reason=x", "&#x27;lost&#x27; is not a kind of left-out text"),
        ("kind=filtered&reason=phi&after=abc", "&#x27;abc&#x27; is not a text number"),
    ],
)
def test_a_bad_texts_query_is_named_on_the_page(admin_client, demo_config, query, message):
    run = GenerationRun.objects.create(
        teacher=demo_config, technique="self_instruct", requested_count=1, sample_rate=0
    )
    r = admin_client.get(reverse("synth:run_texts", args=[run.pk]) + "?" + query)
    assert r.status_code == 400
    assert message in r.text


def test_only_administrators_see_the_texts(client_for, physician, data_lead, demo_config):
    run = GenerationRun.objects.create(
        teacher=demo_config, technique="self_instruct", requested_count=1, sample_rate=0
    )
    url = reverse("synth:run_texts", args=[run.pk]) + "?kind=filtered&reason=phi"
    for user in (physician, data_lead):
        assert client_for(user).get(url).status_code == 403


def test_rerun_opens_the_launch_form_with_the_runs_settings(admin_client, demo_config):
    other = Teacher.objects.create(name="second-offline", provider="offline")
    cardiology = Domain.objects.get(slug="cardiology")
    run = launch_run(
        teacher=demo_config,
        technique="preference",
        requested_count=7,
        sample_rate=0.3,
        domains=[cardiology],
        options={"contrast": "teacher", "other_teacher": other.name},
        enqueue=False,
    )
    page = admin_client.get(reverse("synth:run_detail", args=[run.pk])).text
    assert f'href="/runs/new/?from={run.pk}"' in page
    form = admin_client.get(f"/runs/new/?from={run.pk}")
    assert form.status_code == 200
    text = form.text
    assert re.search(rf'<option value="{demo_config.pk}" selected>', text)
    assert re.search(r'<option value="preference" selected>', text)
    assert re.search(rf'value="{cardiology.pk}"[^>]*checked', text)
    assert 'name="requested_count" value="7"' in text
    assert 'name="sample_percent" value="30"' in text
    assert re.search(r'<option value="teacher" selected>', text)
    assert re.search(rf'<option value="{other.pk}" selected>second-offline', text)
    assert 'data-testid="copied-from"' in text
    assert GenerationRun.objects.count() == 1  # opening the form launches nothing


def test_rerun_of_a_missing_run_says_so(admin_client, demo_config):
    r = admin_client.get("/runs/new/?from=999")
    assert r.status_code == 200
    assert "There is no run &#x27;999&#x27; to copy" in r.text


def test_rerun_launches_only_on_submit(admin_client, demo_config, django_capture_on_commit_callbacks):
    data = {
        "teacher": demo_config.pk,
        "technique": "self_instruct",
        "requested_count": 3,
        "sample_percent": 0,
    }
    with django_capture_on_commit_callbacks(execute=True):
        r = admin_client.post(reverse("synth:run_new"), data)
    run = GenerationRun.objects.get()
    # No message that goes out of date ("Run 1 is queued." once it completed): the status is the run's.
    r = admin_client.get(r.url)
    assert "is queued" not in r.text
    assert 'data-testid="run-status">Completed<' in r.text
    with django_capture_on_commit_callbacks(execute=True):
        r = admin_client.post(reverse("synth:run_new"), data)
    assert GenerationRun.objects.count() == 2 and r.status_code == 302
    assert run.pk != GenerationRun.objects.order_by("-pk").first().pk


def test_a_cancelled_run_says_so_from_its_state(admin_client, demo_config):
    run = GenerationRun.objects.create(
        teacher=demo_config, technique="self_instruct", requested_count=3, sample_rate=1
    )
    r = admin_client.post(reverse("synth:run_cancel", args=[run.pk]), follow=True)
    assert 'data-testid="cancelled"' in r.text
    assert r.text.count("was cancelled") == 0  # no one-off message beside the status
    # A second cancel finds it finished, and says so once.
    r = admin_client.post(reverse("synth:run_cancel", args=[run.pk]), follow=True)
    assert "had already finished" in r.text
    assert "had already finished" not in admin_client.get(reverse("synth:run_detail", args=[run.pk])).text


def test_stat_cards_are_wide_enough_for_their_figures():
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "static" / "studio.css").read_text()
    assert "dl.counts { grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr)); }" in css


def test_held_back_candidates_are_counted_and_listed_with_their_findings(admin_client, demo_config):
    from synth.quality.exact import record_hash
    from synth.quality.gate import apply_gate

    run = GenerationRun.objects.create(
        teacher=demo_config, technique="self_instruct", requested_count=1, sample_rate=0, status="completed"
    )
    instruction = "Summarise the note for the patient reachable at 555-867-5309 about their asthma plan."
    output = "Use the inhaler as prescribed and return if breathing worsens."
    candidate = Candidate.objects.create(
        run=run,
        sequence=1,
        technique="self_instruct",
        instruction=instruction,
        output=output,
        content_hash=record_hash(instruction, "", output),
        teacher_provider="offline",
        teacher_model="offline",
    )
    apply_gate(candidate)
    candidate.refresh_from_db()
    assert candidate.held_back
    page = admin_client.get(reverse("synth:run_detail", args=[run.pk])).text
    url, count = reason_links(page)["held_back-phi"]
    assert count == 1 and "Held back (1)" in page
    text = admin_client.get(url).text
    assert len(re.findall('data-testid="left-out-text"', text)) == 1
    assert "Possible PHI" in text and "555-867-5309" in text
