"""Clinical summarization: the administrator's task applied to each de-identified document, from the
launch form of a fresh demo to the physicians' review queue, answered by the offline teacher."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from review.models import ReviewItem
from synth.models import Candidate, GenerationRun, SourceDocument, Teacher
from synth.teachers.base import TeacherError
from synth.teachers.offline_provider import NO_ANSWER, OfflineTeacher
from synth.techniques.distillation import OUTPUT_SCHEMA

TASK = "Summarize this note for a referral letter."


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=StringIO())


def launch(client, django_capture_on_commit_callbacks, **changes):
    client.force_login(get_user_model().objects.get(username="admin"))
    form = {
        "teacher": Teacher.objects.get(name="offline").pk,
        "technique": "summarization",
        "requested_count": 5,
        "sample_percent": 100,
        "summary_task": TASK,
        **changes,
    }
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("synth:run_new"), form)


def test_it_goes_from_the_launch_form_to_review_items_on_the_demo(
    demo, client, django_capture_on_commit_callbacks
):
    r = launch(client, django_capture_on_commit_callbacks)
    assert r.status_code == 302
    run = GenerationRun.objects.get()
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    assert run.options == {"summary_task": TASK}
    documents = SourceDocument.objects.filter(held_back=False)
    # One summary per document: the run asked for more than there are, and says so.
    assert run.candidates.count() == documents.count() == 3
    assert "3 documents, one summary each" in run.stop_reason
    for candidate in run.candidates.all():
        document = documents.get(text=candidate.input)
        assert candidate.instruction == TASK and candidate.domain == document.domain
        assert candidate.status == Candidate.Status.PASSED, candidate.filter_reason
        assert candidate.provenance["document"]["id"] == document.pk
    heart = run.candidates.get(input__startswith="Heart failure")
    assert heart.output.startswith("Diagnosis: Heart failure (ICD-10-CM I50).")
    assert "follow-up visit" in heart.output  # what to do, from the note itself
    assert ReviewItem.objects.filter(candidate__run=run).count() == 3

    client.force_login(get_user_model().objects.get(username="physician"))
    page = client.get(reverse("review:review"))
    assert page.status_code == 200 and TASK in page.text


def test_the_task_is_refused_when_it_holds_identifiers(demo, client, django_capture_on_commit_callbacks):
    r = launch(
        client, django_capture_on_commit_callbacks, summary_task="Summarize for Dr. John Smith, MRN 12345678."
    )
    assert r.status_code == 422
    assert "PHI screen" in r.text and not GenerationRun.objects.exists()


def test_without_a_task_it_uses_the_referral_letter_default(demo, client, django_capture_on_commit_callbacks):
    launch(client, django_capture_on_commit_callbacks, summary_task="", requested_count=1)
    run = GenerationRun.objects.get()
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    assert run.candidates.get().instruction == TASK


def test_held_back_documents_are_never_summarized(demo, client, django_capture_on_commit_callbacks):
    SourceDocument.objects.update(held_back=True)
    r = launch(client, django_capture_on_commit_callbacks)
    assert r.status_code == 422 and "Summarization needs documents" in r.text


def test_the_offline_teacher_reads_the_whole_note():
    note = "Asthma (J45) reviewed in clinic.\nInhaler technique was checked and a written plan given."
    reply = OfflineTeacher(facts=()).complete(
        [{"role": "user", "content": "..."}],
        schema=OUTPUT_SCHEMA,
        context={"task": "summarize", "instruction": TASK, "document": note},
    )
    assert reply.data["output"] == (
        "Diagnosis: Asthma (ICD-10-CM J45). Asthma (J45) reviewed in clinic. Inhaler technique was "
        "checked and a written plan given."
    )


def test_the_offline_teacher_does_not_pretend_to_do_other_tasks_over_a_note():
    with pytest.raises(TeacherError) as refused:
        OfflineTeacher(facts=()).complete(
            [{"role": "user", "content": "..."}],
            schema=OUTPUT_SCHEMA,
            context={
                "task": "summarize",
                "instruction": "List the medicines in this note.",
                "document": "x.",
            },
        )
    assert refused.value.reason == NO_ANSWER
