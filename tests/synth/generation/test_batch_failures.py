"""Batch mode when things go wrong: lost ids, passing errors, servers without a batch API, unsafe URLs."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from synth.batches import advance_batch, custom_id_for
from synth.generation import execute_run
from synth.models import GenerationRun, ProviderBatch, TeacherCall
from synth.teachers import client_for as teacher_client
from synth.teachers.base import BatchRequest, Schema
from synth.techniques.queries import import_queries
from tests.synth.generation.test_batch_runs import QUESTIONS, distillation_run, finish, open_batches


def test_a_resubmission_adopts_the_batch_a_dead_worker_created_instead_of_paying_twice(batch_loopback):
    teacher, server = batch_loopback("openai")
    run = distillation_run(teacher)
    execute_run(run.pk)
    (batch,) = open_batches(run)
    # A worker uploaded the requests and created the batch, then died before saving the batch's id.
    requests = [
        BatchRequest(custom_id=cid, messages=r["messages"], schema=Schema(**r["schema"]))
        for cid, r in batch.requests.items()
    ]
    lost = teacher_client(teacher).submit_batch(requests, label=f"run-{run.pk}-batch-{batch.pk}")
    ProviderBatch.objects.filter(pk=batch.pk).update(submit_attempts=1)

    advance_batch(batch.pk)
    batch.refresh_from_db()
    assert batch.provider_batch_id == lost and server.created == [lost]
    finish(run)
    assert run.status == GenerationRun.Status.COMPLETED and run.candidates.count() == 4
    assert server.created == [lost]


def test_a_passing_server_error_while_polling_is_tried_again_later(batch_loopback):
    teacher, server = batch_loopback("anthropic")
    run = distillation_run(teacher)
    execute_run(run.pk)
    (batch,) = open_batches(run)
    advance_batch(batch.pk)
    server.statuses = [500]
    assert advance_batch(batch.pk) == 0  # look again (at once, in this test)
    batch.refresh_from_db()
    assert batch.status == ProviderBatch.Status.SUBMITTED and "HTTP 500" in batch.error
    finish(run)
    assert run.status == GenerationRun.Status.COMPLETED and run.candidates.count() == 4


def test_a_server_without_a_batch_api_fails_the_run_saying_so(batch_loopback):
    teacher, server = batch_loopback("openai")
    server.has_batch_api = False  # e.g. vLLM: chat completions only
    run = finish(distillation_run(teacher))
    assert run.status == GenerationRun.Status.FAILED
    assert "batch" in run.error and "HTTP 404" in run.error
    assert ProviderBatch.objects.get(run=run).status == ProviderBatch.Status.FAILED
    assert not TeacherCall.objects.filter(run=run).exists()


def test_a_results_url_pointing_at_the_metadata_service_is_not_fetched(batch_loopback):
    teacher, server = batch_loopback("anthropic")
    server.results_url = "http://169.254.169.254/latest/meta-data/"
    run = finish(distillation_run(teacher))
    assert run.status == GenerationRun.Status.FAILED
    assert "results URL" in run.error and "169.254.169.254" in run.error
    assert not TeacherCall.objects.filter(run=run).exists()


def test_the_generate_command_runs_a_batch_run_to_its_end(batch_loopback, capsys):
    teacher, server = batch_loopback("anthropic")
    import_queries(name="shock", content="\n".join(QUESTIONS), format="lines")
    call_command(
        "generate", "--technique", "distillation", "--teacher", teacher.name, "--count", "4",
        "--query-set", "shock", "--batch",
    )  # fmt: skip
    out = capsys.readouterr().out
    assert "Waiting for" in out and "candidates: 4 of 4" in out
    run = GenerationRun.objects.get()
    assert run.use_batch_api and len(server.created) == 1
    assert {c.key for c in TeacherCall.objects.filter(run=run)} == {
        r["key"] for b in run.batches.all() for r in b.requests.values()
    }
    assert all(custom_id_for(r["key"]) == cid for b in run.batches.all() for cid, r in b.requests.items())


def test_the_generate_command_refuses_batch_mode_for_the_offline_teacher(demo_config):
    with pytest.raises(CommandError, match="has no batch API"):
        call_command("generate", "--technique", "self_instruct", "--count", "2", "--batch")
