"""A real worker killed with SIGKILL mid-run; a new worker resumes without duplicates or paying twice,
within the chunk's lease plus the watchdog's grace, and a worker that starts after the lease ran out
takes the chunk at once. The recovery times are printed (README, "Reliability notes").

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
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from synth.generation import launch_run
from synth.models import GenerationRun, RunChunk, Teacher, TeacherCall
from synth.techniques.queries import import_queries
from tests.conftest import start_db_worker, wait_for
from tests.synth.teachers.test_teacher_providers import Reply, ScriptedServer, openai_reply

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-loopback-0123456789"
LEASE = 2.0
# Long enough for a new worker to be up (it takes seconds to start here) before the dead one's lease
# runs out, so that the run's watchdog, not the new worker's start, is what hands the chunk on.
WATCHED_LEASE = 15.0


def answer(request) -> Reply:
    question = request.body["messages"][-1]["content"].split("Instruction: ", 1)[1].split("\n", 1)[0]
    return Reply(openai_reply(json.dumps({"output": f"Answer to: {question}"})), delay=0.25)


def start_worker(settings, log: Path | None = None) -> subprocess.Popen:
    return start_db_worker(
        settings,
        log=log,
        LOOPBACK_API_KEY=KEY,
        GENERATION_LEASE_SECONDS=str(settings.GENERATION_LEASE_SECONDS),
        WATCHDOG_GRACE_SECONDS=str(settings.WATCHDOG_GRACE_SECONDS),
        TEACHER_LOCAL_HOSTS="127.0.0.1",  # the loopback server stands in for a model server
    )


def launch_and_kill_mid_chunk(
    settings, loopback, lease: float, *, answered=lambda n: 2 <= n % 8 <= 6
) -> tuple[GenerationRun, set[int], float]:
    """Launch a 24-query run in chunks of 8, and SIGKILL its worker in the middle of a chunk (when the
    number of answered calls is `answered`; the worker takes the chunks one after another)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.TEACHER_API_KEYS = {"LOOPBACK_API_KEY": KEY}
    settings.GENERATION_CHUNK_SIZE = 8
    settings.GENERATION_LEASE_SECONDS = lease
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
    first = start_worker(settings)
    try:
        wait_for(lambda: answered(TeacherCall.objects.filter(run=run, status="ok").count()))
    finally:
        first.send_signal(signal.SIGKILL)  # kill -9: no cleanup of any kind
        first.wait(timeout=10)
    killed_at = time.monotonic()
    interrupted = set(RunChunk.objects.filter(run=run, status="running").values_list("pk", flat=True))
    return run, interrupted, killed_at


def last_lease(chunks: set[int]):
    return max(RunChunk.objects.filter(pk__in=chunks).values_list("lease_until", flat=True))


def handed_on() -> bool:
    """The dead worker's chunk was handed to a new task (its lost task closed at that moment)."""
    return DBTaskResult.objects.filter(task_path="synth.tasks.run_generation", status="FAILED").exists()


def dead_workers_task_is_closed(run: GenerationRun) -> None:
    """The killed worker's task row does not stay RUNNING for ever: it says what happened."""
    chunks = DBTaskResult.objects.filter(task_path="synth.tasks.run_generation")
    assert not chunks.filter(status="RUNNING").exists()
    (lost,) = chunks.filter(status="FAILED")
    assert "stopped renewing its lease" in lost.traceback


@pytest.fixture
def loopback():
    server = ScriptedServer()
    server.responder = answer
    server.start()
    yield server
    server.stop()


def test_a_killed_worker_is_resumed_without_duplicates_or_paying_twice(
    transactional_db, settings, loopback, tmp_path
):
    # In the middle of the last chunk: the new worker has nothing else to do when the watchdog is due.
    run, interrupted, killed_at = launch_and_kill_mid_chunk(
        settings, loopback, WATCHED_LEASE, answered=lambda n: 18 <= n <= 22
    )
    assert run.chunks.count() == 3
    questions = [f"Question number {n} about asthma?" for n in range(1, 25)]
    answered_before = set(TeacherCall.objects.filter(run=run, status="ok").values_list("key", flat=True))
    prompts_before = {
        json.dumps(call.request[-1]["content"])
        for call in TeacherCall.objects.filter(run=run, status="ok", key__in=answered_before)
    }
    run.refresh_from_db()
    assert run.status == GenerationRun.Status.RUNNING and run.candidates.count() < 24

    lease_ran_out = last_lease(interrupted)
    log = tmp_path / "worker.log"
    second = start_worker(settings, log)
    try:
        wait_for(lambda: "Starting worker" in log.read_text())
        up_after = time.monotonic() - killed_at
        # The run's watchdog looks just after the dead worker's lease runs out, whenever that is.
        wait_for(handed_on, interval=0.05)
        resumed_after = time.monotonic() - killed_at
        past_lease = (timezone.now() - lease_ran_out).total_seconds()
        wait_for(lambda: not GenerationRun.objects.get(pk=run.pk).is_active)
    finally:
        second.terminate()
        second.wait(timeout=10)
    print(
        f"\nA killed worker's chunk was handed on by the watchdog {resumed_after:.1f} s after the kill, "
        f"{past_lease:.1f} s after its lease ran out (lease {WATCHED_LEASE:.0f} s, grace "
        f"{settings.WATCHDOG_GRACE_SECONDS:.0f} s; the new worker, started at the kill, was up after "
        f"{up_after:.1f} s)."
    )

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
    dead_workers_task_is_closed(run)


def test_a_worker_that_starts_takes_a_chunk_whose_lease_ran_out_at_once(transactional_db, settings, loopback):
    settings.WATCHDOG_GRACE_SECONDS = 600  # the run's watchdog is not due for the whole test
    run, interrupted, killed_at = launch_and_kill_mid_chunk(settings, loopback, LEASE)
    wait_for(lambda: time.monotonic() > killed_at + LEASE)

    started_at = time.monotonic()
    second = start_worker(settings)
    try:
        wait_for(handed_on, interval=0.05)
        resumed_after = time.monotonic() - started_at
        wait_for(lambda: not GenerationRun.objects.get(pk=run.pk).is_active)
    finally:
        second.terminate()
        second.wait(timeout=10)
    print(
        f"\nA worker started after the lease ran out handed the chunk on {resumed_after:.1f} s after its start."
    )

    run.refresh_from_db()
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    assert list(run.candidates.values_list("sequence", flat=True)) == list(range(1, 25))
    assert interrupted and all(c.claims == 2 for c in RunChunk.objects.filter(pk__in=interrupted))
    dead_workers_task_is_closed(run)
