"""A generation run and an export go through the database queue and a real db_worker process."""

from django_tasks_db.models import DBTaskResult

from review.exports.build import request_export
from review.models import Export, ReviewItem
from synth.generation import launch_run
from synth.models import GenerationRun
from tests.conftest import wait_for


def test_a_real_worker_runs_a_generation_run_and_an_export(task_worker, demo_config, data_lead):
    run = launch_run(teacher=demo_config, technique="self_instruct", requested_count=8, sample_rate=1.0)
    assert DBTaskResult.objects.filter(task_path="synth.tasks.run_generation").exists()

    def finished():
        run.refresh_from_db()
        return not run.is_active

    wait_for(finished)
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    assert run.candidates.count() == 8
    assert ReviewItem.objects.filter(batch__run=run).count() == run.sampled_count > 0

    export = request_export(kind="sft", format="jsonl", created_by=data_lead)
    wait_for(lambda: Export.objects.get(pk=export.pk).status in {"ready", "empty", "failed"})
    # Nobody has reviewed anything yet: the export says it is empty, and why (no folder to download).
    export.refresh_from_db()
    assert export.status == "empty", export.error
    assert export.error == "No approved records match these filters: physicians have approved nothing yet."
    # (The run's and the export's watchdog tasks wait for their time, then find the work done and stop.)
    work = DBTaskResult.objects.exclude(task_path__in=["synth.tasks.watch_run", "review.tasks.watch_export"])
    # The export is marked ready just before its task returns: let the worker record the result.
    wait_for(lambda: not work.filter(status__in=["READY", "RUNNING"]).exists())
    assert set(work.values_list("status", flat=True)) == {"SUCCESSFUL"}
