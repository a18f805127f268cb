"""A real db_worker killed with SIGKILL while collecting a provider batch; a new worker finishes the run.

The loopback batch server holds the results download until the worker is dead, so the kill lands in
the middle of the collection. The new worker's watcher hands the batch to a new check, which collects
it: every call recorded once, no batch submitted twice, every query answered once.
"""

from __future__ import annotations

import signal
import threading
import time

import pytest
from django_tasks_db.models import DBTaskResult

from synth.generation import launch_run
from synth.models import GenerationRun, ProviderBatch, Teacher, TeacherCall
from synth.tasks import check_batch
from synth.techniques.queries import import_queries
from tests.synth.batch_server import BatchServer, answers
from tests.synth.generation.test_worker_resume import KEY, LEASE, start_worker, wait_for


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_worker_killed_while_collecting_a_batch_is_resumed_without_duplicates(
    transactional_db, settings, provider, monkeypatch
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.TEACHER_API_KEYS = {"LOOPBACK_API_KEY": KEY}
    settings.GENERATION_CHUNK_SIZE = 4
    settings.GENERATION_LEASE_SECONDS = LEASE
    monkeypatch.setenv("BATCH_POLL_SECONDS", "0.2")  # read by the workers' settings
    server = BatchServer(answers(provider))
    server.hold_results = threading.Event()
    server.start()
    try:
        teacher = Teacher.objects.create(
            name="loopback", provider=provider, model="test-model",
            base_url=f"{server.url}/v1" if provider == "openai" else server.url,
            api_key_env="LOOPBACK_API_KEY", price_input_per_mtok=1, price_output_per_mtok=2,
        )  # fmt: skip
        questions = [f"Question number {n} about asthma?" for n in range(1, 9)]
        query_set = import_queries(name="asthma", content="\n".join(questions), format="lines")
        run = launch_run(
            teacher=teacher, technique="distillation", requested_count=8, sample_rate=0.0,
            options={"query_set": query_set.pk}, use_batch_api=True,
        )  # fmt: skip

        first = start_worker(settings)
        try:
            assert server.results_requested.wait(timeout=90), "no batch was collected"
        finally:
            first.send_signal(signal.SIGKILL)  # kill -9 in the middle of downloading the results
            first.wait(timeout=10)
        collecting = ProviderBatch.objects.filter(run=run, status=ProviderBatch.Status.SUBMITTED).count()
        recorded_before = TeacherCall.objects.filter(run=run).count()
        assert collecting >= 1 and recorded_before < 8
        server.hold_results.set()  # let later downloads through
        time.sleep(0.1)

        second = start_worker(settings)
        try:
            wait_for(lambda: not GenerationRun.objects.get(pk=run.pk).is_active)
        finally:
            second.terminate()
            second.wait(timeout=10)

        run.refresh_from_db()
        assert run.status == GenerationRun.Status.COMPLETED, run.error
        assert sorted(c.instruction for c in run.candidates.all()) == sorted(questions)
        calls = TeacherCall.objects.filter(run=run)
        assert calls.count() == 8 and calls.filter(status="ok").count() == 8  # each result recorded once
        assert run.teacher_calls == 8 and run.cost == sum(c.cost for c in calls)
        assert len(server.created) == 2  # one batch per chunk, never submitted again
        assert server.results_downloads > 2  # the interrupted collection was done over
        assert all(b.status == ProviderBatch.Status.COLLECTED for b in run.batches.all())
        # The task list tells the truth: the killed worker's check is closed as lost, none is left running.
        checks = DBTaskResult.objects.filter(task_path=check_batch.module_path)
        assert not checks.filter(status="RUNNING").exists()
        assert checks.filter(status="FAILED", exception_class_path="synth.generation.WorkerLost").exists()
    finally:
        server.stop()
