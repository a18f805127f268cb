"""Runs through the providers' batch APIs, via the official SDKs, against the loopback batch server."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from synth.batches import advance_batch, collect
from synth.generation import GenerationError, estimate_cost, execute_run, launch_run
from synth.models import Domain, GenerationRun, ProviderBatch, RunChunk, Teacher, TeacherCall
from synth.teachers import client_for as teacher_client
from synth.techniques.documents import add_document
from synth.techniques.queries import import_queries
from tests.synth.teachers.test_teacher_providers import anthropic_reply, openai_reply, text_block

KEY = "sk-loopback-0123456789"
QUESTIONS = ["Define shock.", "Define sepsis.", "Define SIRS.", "Define ARDS."]


def distillation_run(teacher: Teacher, questions=QUESTIONS) -> GenerationRun:
    query_set = import_queries(name="q", content="\n".join(questions), format="lines")
    return launch_run(
        teacher=teacher, technique="distillation", requested_count=len(questions), sample_rate=0.0,
        options={"query_set": query_set.pk}, use_batch_api=True,
    )  # fmt: skip


def open_batches(run: GenerationRun) -> list[ProviderBatch]:
    return list(ProviderBatch.objects.filter(run=run, status__in=ProviderBatch.OPEN_STATUSES))


def finish(run: GenerationRun) -> GenerationRun:
    """Play the workers' part until the run ends: run its chunks, submit, poll and collect its batches."""
    for _ in range(60):
        execute_run(run.pk)
        for batch in open_batches(run):
            advance_batch(batch.pk)
        run.refresh_from_db()
        if not run.is_active:
            return run
    raise AssertionError("the run did not finish")


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_batch_run_is_submitted_polled_and_collected(batch_loopback, provider):
    teacher, server = batch_loopback(provider)
    run = distillation_run(teacher)

    execute_run(run.pk)  # the chunk asks for its answers: they become one batch, and the chunk waits
    (batch,) = open_batches(run)
    assert batch.status == ProviderBatch.Status.PREPARING and batch.request_count == 4
    assert RunChunk.objects.get(run=run).status == RunChunk.Status.WAITING
    assert not TeacherCall.objects.filter(run=run).exists() and server.created == []

    assert advance_batch(batch.pk) == 0  # submitted; look again (at once, in this test)
    batch.refresh_from_db()
    assert batch.status == ProviderBatch.Status.SUBMITTED and server.created == [batch.provider_batch_id]
    custom_ids = [line["custom_id"] for line in server.uploaded_lines]
    assert len(set(custom_ids)) == 4 and set(custom_ids) == set(batch.requests)

    assert advance_batch(batch.pk) is not None  # still in progress at the provider
    assert advance_batch(batch.pk) is None  # ended: collected
    batch.refresh_from_db()
    assert batch.status == ProviderBatch.Status.COLLECTED and batch.polls == 2

    execute_run(run.pk)  # the chunk resumes and its steps are served the batch's answers
    run.refresh_from_db()
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    candidates = list(run.candidates.all())
    assert sorted(c.instruction for c in candidates) == sorted(QUESTIONS)
    assert all(c.output.startswith("A careful answer") for c in candidates)
    assert all(c.provenance["calls"]["answer"]["batch"] == batch.provider_batch_id for c in candidates)
    assert all(c.teacher_provider == provider for c in candidates)

    calls = list(TeacherCall.objects.filter(run=run))
    assert len(calls) == 4 and all(c.status == "ok" and c.batch_id == batch.pk for c in calls)
    for call in calls:  # half the live price
        live = (call.input_tokens * 1 + call.output_tokens * 2) / Decimal(1_000_000)
        assert call.input_tokens > 0 and abs(call.cost - live / 2) <= Decimal("0.0000005")  # 6 places
    assert run.cost == sum(c.cost for c in calls) and run.teacher_calls == 4
    assert len(server.created) == 1  # one batch, asked once


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_the_batch_carries_the_same_request_a_live_call_sends(batch_loopback, provider):
    teacher, server = batch_loopback(provider)
    finish(distillation_run(teacher, ["Define shock."]))
    (line,) = server.uploaded_lines
    if provider == "openai":
        assert line["method"] == "POST" and line["url"] == "/v1/chat/completions"
        body = line["body"]
        assert body["response_format"]["json_schema"]["name"] == "output"
    else:
        body = line["params"]
        assert body["tool_choice"] == {"type": "tool", "name": "output"} and "system" in body
    assert body["model"] == "test-model" and body["temperature"] == teacher.temperature
    assert "Instruction: Define shock." in body["messages"][-1]["content"]


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize(
    "technique",
    ["self_instruct", "evol_instruct", "distillation", "summarization", "backtranslation", "preference"],
)
def test_each_technique_runs_through_the_batch_api(batch_loopback, provider, technique):
    teacher, server = batch_loopback(provider)
    respiratory = Domain.objects.get(slug="respiratory")
    options = {}
    if technique == "distillation":
        options["query_set"] = import_queries(name="q", content="\n".join(QUESTIONS[:3]), format="lines").pk
    if technique in ("backtranslation", "summarization"):
        for n in range(3):
            add_document(
                title=f"Doc {n}",
                text=f"Asthma care point {n}: inhaled corticosteroids reduce exacerbations " * 3,
                domain=respiratory,
            )
    run = launch_run(
        teacher=teacher, technique=technique, requested_count=3, sample_rate=0.0,
        domains=[respiratory], options=options, use_batch_api=True,
    )  # fmt: skip
    finish(run)
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    assert run.candidates.count() == 3
    calls = TeacherCall.objects.filter(run=run)
    assert calls.count() == run.teacher_calls and all(c.batch_id for c in calls)
    assert run.cost > 0 and server.created
    # Every request went out once, whatever the number of stages (batches) the technique needed.
    custom_ids = [line["custom_id"] for line in server.uploaded_lines]
    assert len(custom_ids) == len(set(custom_ids)) == run.teacher_calls
    for candidate in run.candidates.all():
        assert candidate.provenance["calls"] and candidate.teacher_model == "test-model"
    if technique == "preference":
        assert all(c.is_pair for c in run.candidates.all())


def refusal(provider: str) -> dict:
    if provider == "openai":
        return openai_reply(None, refusal="I can't help with that.")
    return anthropic_reply(text_block("No."), stop_reason="refusal")


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_expired_errored_and_refused_requests_are_failed_calls_with_their_reason(batch_loopback, provider):
    teacher, server = batch_loopback(
        provider,
        {
            "Define sepsis.": "expired",
            "Define SIRS.": "errored: max_tokens is too large for this model",
            "Define ARDS.": refusal(provider),
        },
    )
    run = finish(distillation_run(teacher))
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    assert [c.instruction for c in run.candidates.all()] == ["Define shock."]  # the others are left out
    failed = TeacherCall.objects.filter(run=run, status="failed")
    by_question = {re.search(r"Instruction: (.*)", c.request[-1]["content"])[1]: c for c in failed}
    assert len(by_question) == 3 and run.failed_calls == 3 and run.teacher_calls == 4
    assert by_question["Define sepsis."].reason == "expired"
    assert by_question["Define SIRS."].reason == "rejected"
    assert "max_tokens is too large" in by_question["Define SIRS."].message
    assert by_question["Define ARDS."].reason == "refusal"
    assert len(server.created) == 1  # failed requests are not sent again


def test_a_batch_the_provider_fails_whole_fails_each_call_with_its_reason(batch_loopback):
    teacher, server = batch_loopback("openai")
    server.fail_openai_batch_with = "Line 1: the model 'test-model' does not support the batch API."
    run = finish(distillation_run(teacher))
    calls = TeacherCall.objects.filter(run=run)
    assert calls.count() == 4 and all(c.status == "failed" and c.reason == "batch_failed" for c in calls)
    assert all("does not support the batch API" in c.message for c in calls)
    assert run.candidates.count() == 0 and run.cost == 0


def test_a_repeated_collection_records_nothing_twice(batch_loopback):
    teacher, _ = batch_loopback("anthropic", polls_before_end=0)
    run = distillation_run(teacher)
    execute_run(run.pk)
    (batch,) = open_batches(run)
    advance_batch(batch.pk)  # submitted
    batch.refresh_from_db()
    client = teacher_client(teacher)
    state = client.batch_state(batch.provider_batch_id)
    results = {r.custom_id: r for r in client.batch_results(batch.provider_batch_id, {})}
    assert collect(batch, state=state, results=results) == 4
    run.refresh_from_db()
    totals = (run.teacher_calls, run.input_tokens, run.cost)
    # A second task collecting the same batch (the watcher re-enqueued its check) adds nothing.
    assert collect(batch, state=state, results=results) == 0
    assert advance_batch(batch.pk) is None
    run.refresh_from_db()
    assert (run.teacher_calls, run.input_tokens, run.cost) == totals
    assert TeacherCall.objects.filter(run=run).count() == 4


def test_a_teacher_without_a_batch_api_is_refused_with_what_to_do(demo_config):
    with pytest.raises(GenerationError, match="has no batch API"):
        launch_run(
            teacher=demo_config, technique="self_instruct", requested_count=3, sample_rate=0.0,
            use_batch_api=True,
        )  # fmt: skip
    assert not GenerationRun.objects.exists()


def test_the_launch_form_refuses_batch_mode_for_the_offline_teacher(client_for, administrator, demo_config):
    r = client_for(administrator).post(
        reverse("synth:run_new"),
        {"teacher": demo_config.pk, "technique": "self_instruct", "requested_count": 5,
         "sample_percent": 0, "use_batch_api": "on"},
    )  # fmt: skip
    assert r.status_code == 422 and "has no batch API" in r.text
    assert not GenerationRun.objects.exists()


def test_the_launch_form_launches_a_batch_run_and_its_estimate_is_half_price(
    client_for, administrator, batch_loopback
):
    teacher, _ = batch_loopback("openai")
    admin = client_for(administrator)
    live = estimate_cost(teacher=teacher, technique="self_instruct", requested_count=20)
    form = {"teacher": teacher.pk, "technique": "self_instruct", "requested_count": 20, "sample_percent": 0}
    shown = admin.get(reverse("synth:run_estimate"), {**form, "use_batch_api": "on"})
    assert f"${(live.cost / 2).quantize(Decimal('0.0001'))}" in shown.text and "half price" in shown.text
    r = admin.post(reverse("synth:run_new"), {**form, "use_batch_api": "on"})
    run = GenerationRun.objects.get()
    assert r.status_code == 302 and run.use_batch_api


def test_cancelling_the_run_cancels_its_provider_batch(
    client_for, administrator, batch_loopback, django_capture_on_commit_callbacks
):
    teacher, server = batch_loopback("anthropic", polls_before_end=5)
    run = distillation_run(teacher)
    execute_run(run.pk)
    (batch,) = open_batches(run)
    advance_batch(batch.pk)
    batch.refresh_from_db()
    page = client_for(administrator).get(reverse("synth:run_detail", args=[run.pk]))
    assert batch.provider_batch_id in page.text and "Submitted, waiting for results" in page.text
    with django_capture_on_commit_callbacks(execute=True):
        client_for(administrator).post(reverse("synth:run_cancel", args=[run.pk]))
    batch.refresh_from_db()
    assert server.cancelled == [batch.provider_batch_id]
    assert batch.status == ProviderBatch.Status.CANCELLED
    assert advance_batch(batch.pk) is None and len(server.created) == 1
