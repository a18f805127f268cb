"""A real db_worker killed with SIGKILL mid-run; a new worker resumes without duplicates or paying twice.

The teacher is the OpenAI SDK against the loopback server, answering slowly enough that the run is
still going when the worker dies.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from synth.generation import launch_run
from synth.models import GenerationRun, RunChunk, Teacher, TeacherCall
from synth.techniques.queries import import_queries
from tests.conftest import start_db_worker, wait_for
from tests.synth.test_teacher_providers import Reply, ScriptedServer, openai_reply

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-loopback-0123456789"
LEASE = 2.0


def answer(request) -> Reply:
    question = request.body["messages"][-1]["content"].split("Instruction: ", 1)[1].split("\n", 1)[0]
    return Reply(openai_reply(json.dumps({"output": f"Answer to: {question}"})), delay=0.25)


def start_worker(settings) -> subprocess.Popen:
    return start_db_worker(
        settings,
        LOOPBACK_API_KEY=KEY,
        GENERATION_LEASE_SECONDS=str(LEASE),
        TEACHER_LOCAL_HOSTS="127.0.0.1",  # the loopback server stands in for a model server
    )


@pytest.fixture
def loopback():
    server = ScriptedServer()
    server.responder = answer
    server.start()
    yield server
    server.stop()


def test_a_killed_worker_is_resumed_without_duplicates_or_paying_twice(transactional_db, settings, loopback):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.TEACHER_API_KEYS = {"LOOPBACK_API_KEY": KEY}
    settings.GENERATION_CHUNK_SIZE = 8
    settings.GENERATION_LEASE_SECONDS = LEASE
    teacher = Teacher.objects.create(
        name="loopback", provider="openai", model="gpt-test", base_url=f"{loopback.url}/v1",
        api_key_env="LOOPBACK_API_KEY", concurrency=2,
    )  # fmt: skip
    questions = [f"Question number {n} about asthma?" for n in range(1, 25)]
    query_set = import_queries(name="asthma", content="\n".join(questions), format="lines")
    run = launch_run(
        teacher=teacher, technique="distillation", requested_count=24, sample_rate=0.0,
        options={"query_set": query_set.pk},
    )  # fmt: skip
    assert run.chunks.count() == 3

    first = start_worker(settings)
    try:
        # Kill it in the middle of a chunk (8 queries each), not between two.
        wait_for(lambda: 2 <= TeacherCall.objects.filter(run=run, status="ok").count() % 8 <= 6)
    finally:
        first.send_signal(signal.SIGKILL)  # kill -9: no cleanup of any kind
        first.wait(timeout=10)
    killed_at = time.monotonic()
    interrupted = set(RunChunk.objects.filter(run=run, status="running").values_list("pk", flat=True))
    answered_before = set(TeacherCall.objects.filter(run=run, status="ok").values_list("key", flat=True))
    prompts_before = {
        json.dumps(call.request[-1]["content"])
        for call in TeacherCall.objects.filter(run=run, status="ok", key__in=answered_before)
    }
    run.refresh_from_db()
    assert run.status == GenerationRun.Status.RUNNING and run.candidates.count() < 24

    second = start_worker(settings)
    try:
        wait_for(lambda: not GenerationRun.objects.get(pk=run.pk).is_active)
    finally:
        second.terminate()
        second.wait(timeout=10)

    run.refresh_from_db()
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    candidates = list(run.candidates.order_by("sequence"))
    assert [c.sequence for c in candidates] == list(range(1, 25))
    assert sorted(c.instruction for c in candidates) == sorted(questions)  # each query once, none twice
    assert all(c.output == f"Answer to: {c.instruction}" for c in candidates)
    # The chunk the dead worker held was taken over by the new one.
    assert interrupted and all(c.claims >= 2 for c in RunChunk.objects.filter(pk__in=interrupted))
    # Nothing answered before the kill was asked again afterwards.
    asked_after = [
        json.dumps(r.body["messages"][-1]["content"]) for r in loopback.requests if r.at > killed_at
    ]
    assert not prompts_before & set(asked_after)
    assert TeacherCall.objects.filter(run=run, status="ok").count() == 24
