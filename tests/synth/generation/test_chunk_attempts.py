"""A chunk that fails the same way every time does not loop: after GENERATION_CHUNK_MAX_ATTEMPTS
attempts in a row the chunk and its run fail, with the last error in the run's message."""

from datetime import timedelta

from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from synth.generation import launch_run, resume_stalled_runs
from synth.models import GenerationRun, RunChunk, Teacher


def test_a_chunk_failing_every_attempt_fails_its_run_with_the_error(
    settings, django_capture_on_commit_callbacks, client, administrator
):
    call_command("seed_demo", "--no-users", verbosity=0)
    settings.GENERATION_CHUNK_MAX_ATTEMPTS = 2
    # Nothing listens there: every attempt fails storing its first records (the near-duplicate index).
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    with django_capture_on_commit_callbacks(execute=True):  # each retry runs inline once queued
        run = launch_run(
            teacher=Teacher.objects.get(name="offline"),
            technique="self_instruct",
            requested_count=4,
            sample_rate=0,
        )

    run.refresh_from_db()
    assert run.status == GenerationRun.Status.FAILED
    assert "Chunk 1 of the run failed 2 attempt(s) in a row" in run.error
    assert "ConnectionError" in run.error  # the last attempt's error, as it was raised
    chunk = run.chunks.get()
    assert (chunk.status, chunk.claims) == (RunChunk.Status.FAILED, 2)  # two attempts, no third
    client.force_login(administrator)
    assert "failed 2 attempt(s) in a row" in client.get(reverse("synth:run_detail", args=[run.pk])).text


def test_a_chunk_whose_worker_keeps_dying_fails_its_run_saying_so(
    settings, demo_config, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    run = launch_run(teacher=demo_config, technique="self_instruct", requested_count=4, sample_rate=0)
    # As the last of GENERATION_CHUNK_MAX_ATTEMPTS workers left it, each killed before it could say why.
    RunChunk.objects.filter(run=run).update(
        status=RunChunk.Status.RUNNING,
        lease_until=timezone.now() - timedelta(seconds=1),
        claims=settings.GENERATION_CHUNK_MAX_ATTEMPTS,
        unfinished_attempts=settings.GENERATION_CHUNK_MAX_ATTEMPTS,
    )
    GenerationRun.objects.filter(pk=run.pk).update(status=GenerationRun.Status.RUNNING)

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    resume_stalled_runs()  # the watchdog hands the chunk on; the attempt that takes it stops the run

    run.refresh_from_db()
    assert run.status == GenerationRun.Status.FAILED
    assert f"failed {settings.GENERATION_CHUNK_MAX_ATTEMPTS} attempt(s) in a row" in run.error
    assert "its worker stopped without finishing or recording an error" in run.error
    assert run.candidates.count() == 0
