"""No PHI leaves for a teacher: query sets are screened on import, and every prompt again before it is
sent. The loopback servers record what they receive; the identifiers must never be among it."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from synth.generation import execute_run, launch_run
from synth.models import Domain, GenerationRun, Query, QuerySet, SeedTask, Teacher, TeacherCall
from synth.teachers import client_for
from synth.teachers.dispatch import Call, Dispatcher
from synth.teachers.prompt_screen import screens_prompts
from synth.techniques.queries import import_queries
from tests.synth.batch_server import KEY as BATCH_KEY
from tests.synth.generation.test_batch_runs import finish
from tests.synth.teachers.test_teacher_providers import Reply, ScriptedServer, openai_reply
from tests.synth.techniques.test_techniques_loopback import responder

KEY = "sk-loopback-0123456789"
PHI_QUERY = "Patient John Smith, MRN 4481923, phone 555-867-5309, presents with chest pain. Next steps?"
IDENTIFIERS = ["John Smith", "4481923", "555-867-5309"]
CLEAN = ["Define cardiogenic shock.", "List the causes of pleuritic chest pain.", "Define sepsis."]


@pytest.fixture
def loopback(settings, db):
    """An OpenAI-compatible loopback server that records every request, and a teacher using it."""
    call_command("seed_demo", "--no-users")
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    settings.TEACHER_API_KEYS = {"LOOPBACK_API_KEY": KEY}
    server = ScriptedServer()
    server.responder = responder("openai")
    server.start()
    teacher = Teacher.objects.create(
        name="loopback",
        provider="openai",
        model="m",
        base_url=f"{server.url}/v1",
        api_key_env="LOOPBACK_API_KEY",
    )
    yield teacher, server
    server.stop()


def received(server) -> str:
    return json.dumps([request.body for request in server.requests])


def distill(teacher: Teacher, query_set: QuerySet, count: int) -> GenerationRun:
    run = launch_run(
        teacher=teacher, technique="distillation", requested_count=count, sample_rate=0.0,
        domains=[Domain.objects.get(slug="cardiology")], options={"query_set": query_set.pk},
    )  # fmt: skip
    execute_run(run.pk)
    run.refresh_from_db()
    return run


# On import ----------------------------------------------------------------------------------------


def test_an_uploaded_query_with_phi_is_held_back_and_listed(admin_client, loopback):
    content = "\n".join(json.dumps({"query": q}) for q in [CLEAN[0], PHI_QUERY, CLEAN[1]]).encode()
    from tests.synth.test_uploads import upload

    r = upload(admin_client, "ed.jsonl", content, name="ed questions")
    assert r.status_code == 302
    page = admin_client.get("/runs/queries/")
    assert "1 held back" in page.text  # the message after the redirect
    held = page.text.split('data-testid="held-back"')[1]
    assert "ed questions" in held and "<td>2</td>" in held  # its set and line
    assert "mrn" in held and "phone" in held and "4481923" in held  # its findings, to fix the file
    query_set = QuerySet.objects.get(name="ed questions")
    assert [(q.line, q.held_back) for q in query_set.queries.all()] == [(1, False), (2, True), (3, False)]
    assert {f["kind"] for f in query_set.queries.get(line=2).phi_findings} >= {"mrn", "phone"}


def test_a_held_back_query_is_never_sent(loopback):
    teacher, server = loopback
    query_set = import_queries(name="ed", content="\n".join([CLEAN[0], PHI_QUERY, CLEAN[1]]), format="lines")
    run = distill(teacher, query_set, 3)
    assert run.candidates.count() == 2
    assert len(server.requests) == 2
    for identifier in IDENTIFIERS:
        assert identifier not in received(server)


# At the dispatcher --------------------------------------------------------------------------------


def test_a_prompt_with_phi_fails_with_reason_phi_and_is_not_sent(loopback):
    """A query imported before the screen existed (not held back) is stopped where calls leave."""
    teacher, server = loopback
    query_set = import_queries(name="old", content="\n".join(CLEAN), format="lines")
    Query.objects.filter(query_set=query_set, line=2).update(text=PHI_QUERY)  # as an old import left it
    run = distill(teacher, query_set, 3)
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    assert len(server.requests) == 2 and run.candidates.count() == 2
    for identifier in IDENTIFIERS:
        assert identifier not in received(server)
    (refused,) = TeacherCall.objects.filter(run=run, reason="phi")
    assert refused.status == TeacherCall.Status.FAILED and refused.input_tokens == 0
    assert "PHI screen" in refused.message and "medical record number" in refused.message
    recorded = json.dumps(refused.request)
    assert "withheld, not sent: the PHI screen found" in recorded and "mrn" in recorded
    for identifier in IDENTIFIERS:
        assert identifier not in recorded and identifier not in refused.message


def test_the_dispatcher_screens_every_message_it_would_send(loopback):
    teacher, server = loopback
    with Dispatcher(client_for(teacher)) as dispatcher:
        for messages in (
            [{"role": "system", "content": "Judge these answers."}, {"role": "user", "content": PHI_QUERY}],
            [
                {"role": "user", "content": "Improve: Define sepsis."},
                {"role": "assistant", "content": PHI_QUERY},
            ],
        ):
            outcome = dispatcher.submit(Call(key="k", messages=messages)).result(timeout=30)
            assert not outcome.ok and outcome.error.reason == "phi" and outcome.error.permanent
            assert len(outcome.attempts) == 1
    assert server.requests == []


def test_local_teachers_can_be_exempted_by_the_setting(loopback, settings):
    teacher, server = loopback
    assert screens_prompts(provider="offline", base_url=None)  # by default even the offline teacher
    settings.TEACHER_PHI_SCREEN_LOCAL = False
    assert not screens_prompts(provider="offline", base_url=None)
    assert screens_prompts(provider="openai", base_url=None)  # the cloud: never exempt
    assert screens_prompts(provider="openai", base_url="http://10.0.0.12:8000/v1")  # not on this machine
    settings.TEACHER_LOCAL_HOSTS = ["127.0.0.1"]
    server.responder = None
    server.reply(openai_reply("Chest pain: start with an ECG."))
    with Dispatcher(client_for(teacher)) as dispatcher:  # on this machine, listed: exempt
        outcome = dispatcher.submit(Call(key="k", messages=[{"role": "user", "content": PHI_QUERY}])).result(
            timeout=30
        )
    assert outcome.ok and len(server.requests) == 1


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_batch_never_carries_a_prompt_with_phi(batch_loopback, provider):
    """Batch mode: the prompt is screened before it is put into a batch (and so before it is stored)."""
    call_command("seed_demo", "--no-users")
    assert BATCH_KEY
    teacher, server = batch_loopback(provider)
    query_set = import_queries(name="old", content="\n".join(CLEAN), format="lines")
    Query.objects.filter(query_set=query_set, line=2).update(text=PHI_QUERY)
    run = launch_run(
        teacher=teacher, technique="distillation", requested_count=3, sample_rate=0.0,
        options={"query_set": query_set.pk}, use_batch_api=True,
    )  # fmt: skip
    run = finish(run)
    assert run.candidates.count() == 2
    assert TeacherCall.objects.filter(run=run, reason="phi").count() == 1
    sent = json.dumps([content.decode() for content in server.files.values()]) + json.dumps(server.batches)
    stored = json.dumps([batch.requests for batch in run.batches.all()])
    for identifier in IDENTIFIERS:
        assert identifier not in sent and identifier not in stored


def test_the_admin_shows_queries_read_only_with_their_screen(admin_client, loopback):
    """Queries come in only through the screened page: the admin shows them, it cannot add or edit."""
    query_set = import_queries(name="ed", content="\n".join([CLEAN[0], PHI_QUERY]), format="lines")
    r = admin_client.get(f"/admin/synth/queryset/{query_set.pk}/change/")
    assert r.status_code == 200
    assert "Held back" in r.text and "mrn" in r.text
    assert 'name="queries-0-text"' not in r.text  # shown, not editable


def test_a_seed_task_with_phi_never_reaches_the_teacher(loopback):
    """Seed tasks become Self-Instruct's examples: one an administrator edited to carry an identifier."""
    teacher, server = loopback
    SeedTask.objects.filter(domain__slug="respiratory").update(input=PHI_QUERY)
    run = launch_run(
        teacher=teacher, technique="self_instruct", requested_count=2, sample_rate=0.0,
        domains=[Domain.objects.get(slug="respiratory")],
    )  # fmt: skip
    execute_run(run.pk)
    assert TeacherCall.objects.filter(run=run, reason="phi").exists()
    for identifier in IDENTIFIERS:
        assert identifier not in received(server)


def test_a_judge_prompt_quoting_phi_from_a_reply_is_not_sent(loopback):
    """Preference pairs: the judge is shown both answers; an answer that carries an identifier (the
    teacher invented one) stops the judge prompt, and the pair is not made."""
    teacher, server = loopback
    inner = responder("openai")

    def respond(request):
        reply = inner(request)
        return Reply(
            json.loads(json.dumps(reply.body).replace("A careful answer", f"{PHI_QUERY} A careful answer"))
        )

    server.responder = respond
    run = launch_run(
        teacher=teacher, technique="preference", requested_count=2, sample_rate=0.0,
        domains=[Domain.objects.get(slug="respiratory")], options={"contrast": "temperature"},
    )  # fmt: skip
    execute_run(run.pk)
    asked = [r.body["response_format"]["json_schema"]["name"] for r in server.requests]
    assert "output" in asked and "judgement" not in asked  # answered, never judged
    refused = TeacherCall.objects.filter(run=run, reason="phi")
    assert refused.exists() and all("judge" in call.key for call in refused)
    assert run.candidates.count() == 0
