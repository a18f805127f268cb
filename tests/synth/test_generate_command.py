"""`manage.py generate`: a run from the command line, its summary printed, non-zero exit on failure."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from synth.models import GenerationRun, SeedTask


def generate(*args: str) -> str:
    out = StringIO()
    call_command("generate", *args, stdout=out)
    return out.getvalue()


def test_it_runs_and_prints_the_summary(demo_config):
    out = generate(
        "--technique", "self_instruct", "--teacher", "offline", "--count", "5", "--domain", "cardiology"
    )
    run = GenerationRun.objects.get()
    assert run.status == GenerationRun.Status.COMPLETED and run.candidates.count() == 5
    assert f"Run {run.pk} (Self-Instruct, teacher offline): Completed" in out
    assert "candidates: 5 of 5" in out and "teacher calls:" in out and "cost $0.0000" in out


def test_it_adds_seed_tasks_and_passes_options(demo_config):
    generate(
        "--technique", "self_instruct", "--count", "2", "--domain", "neonatology",
        "--seed-task", "List the causes of neonatal jaundice.", "--option", "rouge_l_threshold=0.8",
    )  # fmt: skip
    assert SeedTask.objects.filter(instruction="List the causes of neonatal jaundice.").exists()
    assert GenerationRun.objects.get().options == {"rouge_l_threshold": 0.8}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--technique", "self_instruct", "--teacher", "nobody", "--count", "2"], "No teacher named"),
        (["--technique", "self_instruct", "--count", "2", "--domain", "astrology"], "No domain"),
        (["--technique", "distillation", "--count", "2"], "query set"),
        (["--technique", "self_instruct", "--count", "0"], "between 1 and"),
    ],
)
def test_it_exits_non_zero_with_what_to_fix(demo_config, args, message):
    with pytest.raises(CommandError, match=message):
        generate(*args)


def test_a_failed_run_exits_non_zero_after_its_summary(demo_config):
    from synth.models import Domain, SeedTask, SourceDocument

    # No documents at all (the demo's removed): Backtranslation is refused before it starts.
    SourceDocument.objects.all().delete()
    with pytest.raises(CommandError, match="documents"):
        generate("--technique", "backtranslation", "--count", "2")
    assert Domain.objects.exists() and SeedTask.objects.exists()
