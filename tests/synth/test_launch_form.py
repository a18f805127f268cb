"""The launch form without JavaScript: every technique's options are on the page, each in its own
fieldset, and the server checks and keeps only the chosen technique's."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from synth.models import GenerationRun, QuerySet, Teacher
from synth.techniques import TECHNIQUES


@pytest.fixture
def admin(db, client):
    call_command("seed_demo", stdout=StringIO())
    client.force_login(get_user_model().objects.get(username="admin"))
    return client


def test_every_techniques_options_are_on_the_page_in_their_own_fieldset(admin):
    page = admin.get(reverse("synth:run_new")).text
    for name, technique in TECHNIQUES.items():
        if technique.Options.form_fields():
            assert f'data-technique-options="{name}"' in page
            assert f"<legend>{technique.label} options</legend>" in page
    assert 'src="/static/launch-form.js"' in page


def test_the_other_techniques_options_are_ignored_even_when_invalid(
    admin, django_capture_on_commit_callbacks
):
    form = {
        "teacher": Teacher.objects.get(name="offline").pk,
        "technique": "distillation",
        "requested_count": 2,
        "sample_percent": 0,
        "query_set": QuerySet.objects.get().pk,
        "rounds": "99",  # Evol-Instruct's, out of range
        "min_score": "nine",  # Backtranslation's, not a number
        "summary_task": "Summarize this note.",  # Summarization's
    }
    with django_capture_on_commit_callbacks(execute=True):
        r = admin.post(reverse("synth:run_new"), form)
    assert r.status_code == 302
    run = GenerationRun.objects.get()
    assert run.options == {"query_set": form["query_set"]}
    assert run.status == GenerationRun.Status.COMPLETED, run.error


def test_the_chosen_techniques_options_are_still_checked(admin):
    form = {
        "teacher": Teacher.objects.get(name="offline").pk,
        "technique": "backtranslation",
        "requested_count": 2,
        "sample_percent": 0,
        "min_score": "nine",
    }
    r = admin.post(reverse("synth:run_new"), form)
    assert r.status_code == 422 and "Enter a whole number." in r.text
    assert not GenerationRun.objects.exists()
