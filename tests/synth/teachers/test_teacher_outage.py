"""A teacher down, slow or rate-limiting for a while: the run slows down and resumes; nothing is lost
or paid twice. (Minutes in production; seconds here, with the backoff scaled down to match.)"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import replace

import pytest

from synth.generation import execute_run, launch_run
from synth.models import Domain, GenerationRun, Teacher, TeacherCall
from synth.techniques.queries import import_queries
from tests.synth.teachers.test_teacher_providers import Reply, ScriptedServer, openai_error
from tests.synth.techniques.test_techniques_loopback import KEY, responder

OUTAGE_SECONDS = 3.0
OUTAGES = {
    "down": lambda answer: Reply(openai_error("Service unavailable"), 503),
    "rate_limiting": lambda answer: Reply(openai_error("Slow down"), 429, {"Retry-After": "1"}),
    "slow": lambda answer: replace(answer, delay=1.5),  # past the teacher's 1 s timeout
}


@pytest.fixture
def flaky_server(request):
    """An OpenAI-compatible server that fails in the chosen way until the outage ends, then answers."""
    server = ScriptedServer()
    answer = responder("openai")
    outage = OUTAGES[request.param]
    state = {"ends": float("inf"), "failed": 0}
    lock = threading.Lock()

    def respond(req) -> Reply:
        if time.monotonic() < state["ends"]:
            with lock:
                state["failed"] += 1
            return outage(answer(req))
        return answer(req)

    server.responder = respond
    server.start()
    server.state = state
    server.kind = request.param
    yield server
    server.stop()


@pytest.mark.parametrize("flaky_server", list(OUTAGES), indirect=True)
def test_a_run_waits_out_a_teacher_outage_and_completes_without_paying_twice(
    flaky_server, demo_config, settings
):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    settings.TEACHER_API_KEYS = {"LOOPBACK_API_KEY": KEY}
    settings.TEACHER_RETRY_BASE_SECONDS = 0.05
    settings.TEACHER_RETRY_MAX_SECONDS = 0.4  # five attempts take well under the outage
    settings.TEACHER_OUTAGE_PATIENCE_SECONDS = 30
    teacher = Teacher.objects.create(
        name="vllm", provider="openai", model="test-model", base_url=f"{flaky_server.url}/v1",
        api_key_env="LOOPBACK_API_KEY", timeout_seconds=1, concurrency=3,
        price_input_per_mtok=1, price_output_per_mtok=2,
    )  # fmt: skip
    queries = import_queries(
        name="q", content="Define shock.\nDefine sepsis.\nDefine SIRS.\nDefine ARDS.", format="lines"
    )
    run = launch_run(
        teacher=teacher, technique="distillation", requested_count=4, sample_rate=0.0,
        domains=[Domain.objects.get(slug="respiratory")], options={"query_set": queries.pk},
    )  # fmt: skip
    flaky_server.state["ends"] = time.monotonic() + OUTAGE_SECONDS
    started = time.monotonic()
    execute_run(run.pk)
    run.refresh_from_db()

    assert run.status == GenerationRun.Status.COMPLETED, run.error
    assert time.monotonic() - started >= OUTAGE_SECONDS  # it waited the outage out
    if flaky_server.kind == "down":  # quick failures: more than five attempts would have given up
        per_call = Counter(TeacherCall.objects.filter(run=run, status="failed").values_list("key", flat=True))
        assert max(per_call.values()) > 5
    assert run.candidates.count() == 4
    answered = TeacherCall.objects.filter(run=run, status=TeacherCall.Status.OK)
    assert answered.count() == len(set(answered.values_list("key", flat=True)))  # one paid answer per call
    failed = TeacherCall.objects.filter(run=run, status=TeacherCall.Status.FAILED)
    assert failed.exists() and all(call.cost == 0 for call in failed)
    assert run.cost == sum(call.cost for call in answered)


def test_without_patience_a_long_outage_fails_the_run_with_a_message(demo_config, settings):
    server = ScriptedServer()
    server.responder = lambda req: Reply(openai_error("Service unavailable"), 503)
    server.start()
    try:
        settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
        settings.TEACHER_API_KEYS = {"LOOPBACK_API_KEY": KEY}
        settings.TEACHER_RETRY_BASE_SECONDS = 0.01
        settings.TEACHER_RETRY_MAX_SECONDS = 0.02
        teacher = Teacher.objects.create(
            name="down", provider="openai", model="m", base_url=f"{server.url}/v1",
            api_key_env="LOOPBACK_API_KEY",
        )  # fmt: skip
        queries = import_queries(name="q", content="Define shock.", format="lines")
        run = launch_run(
            teacher=teacher, technique="distillation", requested_count=1, sample_rate=0.0,
            options={"query_set": queries.pk},
        )  # fmt: skip
        execute_run(run.pk)
    finally:
        server.stop()
    run.refresh_from_db()
    assert run.status == GenerationRun.Status.FAILED
    assert run.candidates.count() == 0 and run.cost == 0
    assert "the teacher answered none of the run's calls" in run.error
    assert "Service unavailable" in run.error
