import math
from datetime import timedelta

import pytest
from django.utils import timezone

from review.models import ReviewItem
from synth.generation import GenerationError, cancel_run, execute_run, launch_run
from synth.models import Candidate, Domain, GenerationRun, QualityResult, SeedTask, Teacher
from synth.quality.exact import content_hash, normalize


@pytest.fixture
def launch(django_capture_on_commit_callbacks):
    """Launch a run as the launch page does; its task runs inline once the launch commits."""

    def launch(teacher, **overrides):
        options = {
            "teacher": teacher,
            "technique": "self_instruct",
            "requested_count": 12,
            "sample_rate": 0.5,
        }
        with django_capture_on_commit_callbacks(execute=True):
            return launch_run(**(options | overrides))

    return launch


def test_a_run_generates_the_requested_number_of_candidates(launch, demo_config):
    run = launch(demo_config, requested_count=12)
    run.refresh_from_db()
    assert run.status == GenerationRun.Status.COMPLETED
    assert run.candidates.count() == 12 == run.generated_count
    assert run.teacher_calls > 0 and run.input_tokens > 0 and run.output_tokens > 0


def test_every_candidate_carries_its_technique_domain_and_provenance(launch, demo_config):
    run = launch(demo_config, requested_count=4, domains=[Domain.objects.get(slug="cardiology")])
    assert run.candidates.count() == 4
    for candidate in run.candidates.all():
        assert candidate.technique == "self_instruct"
        assert candidate.domain.slug == "cardiology"
        assert candidate.teacher_provider == "offline"
        assert "offline" in candidate.teacher_label
        assert candidate.provenance["prompt_template"] == "self_instruct/2"
        assert "Clinical domain: Cardiology" in candidate.provenance["instruction_prompt"]
        assert candidate.instruction and candidate.output


def test_exact_duplicates_are_filtered_with_the_record_they_repeat(launch, demo_config):
    run = launch(demo_config, requested_count=2)
    original = run.candidates.filter(status=Candidate.Status.PASSED).first()
    repeat = Candidate.objects.create(
        run=run,
        sequence=99,
        domain=original.domain,
        technique=original.technique,
        instruction=f" {original.instruction.upper()}!",
        input=original.input,
        output="Another answer.",
        content_hash=content_hash(f" {original.instruction.upper()}!", original.input),
        teacher_provider="offline",
        teacher_model="offline-icd10-v1",
    )
    from synth.quality.gate import apply_gate

    apply_gate(repeat)
    assert repeat.status == Candidate.Status.FILTERED
    result = QualityResult.objects.get(candidate=repeat, check_name="exact_duplicate")
    assert not result.passed
    assert result.evidence["duplicate_of"] == {"kind": "candidate", "id": original.pk}
    assert normalize(original.instruction) == normalize(repeat.instruction)


def test_self_instruct_keeps_no_instruction_too_close_to_the_pool(launch, demo_config):
    from synth.quality.novelty import rouge_l

    # Neonatology's ICD-10-CM chapter is small, so the offline teacher repeats itself within 20 tasks.
    run = launch(demo_config, requested_count=20, domains=[Domain.objects.get(slug="neonatology")])
    run.refresh_from_db()
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    pool = list(SeedTask.objects.values_list("instruction", flat=True))
    for candidate in run.candidates.order_by("sequence"):
        assert max(rouge_l(candidate.instruction, other) for other in pool) <= 0.7
        pool.append(candidate.instruction)
    discards = run.discards.filter(reason="rouge_l_novelty")
    assert run.discards.count() == run.discarded_count >= discards.count() > 0
    for discard in discards:
        assert discard.evidence["rouge_l"] > 0.7 == discard.evidence["threshold"]
        assert rouge_l(discard.text, discard.evidence["most_similar"]) == pytest.approx(
            discard.evidence["rouge_l"], abs=1e-4
        )


def test_a_run_can_set_its_own_rouge_l_threshold(launch, demo_config):
    run = launch(demo_config, requested_count=4, options={"rouge_l_threshold": 0.95})
    assert {c.provenance["rouge_l_threshold"] for c in run.candidates.all()} == {0.95}


def test_a_candidate_repeating_a_seed_task_is_filtered(launch, demo_config):
    seed = SeedTask.objects.first()
    run = launch(demo_config, requested_count=1)
    candidate = run.candidates.get()
    candidate.instruction, candidate.input = f"  {seed.instruction.upper()} ", seed.input
    candidate.content_hash = content_hash(candidate.instruction, candidate.input)
    candidate.status = Candidate.Status.PENDING
    candidate.save()
    from synth.quality.gate import apply_gate

    apply_gate(candidate)
    assert candidate.status == Candidate.Status.FILTERED
    result = candidate.quality_results.get(check_name="exact_duplicate")
    assert result.evidence["duplicate_of"] == {"kind": "seed_task", "id": seed.pk}
    # re-running the gate replaced each check's result, not duplicated it
    assert candidate.quality_results.filter(check_name="exact_duplicate").count() == 1


def test_the_configured_share_of_passed_candidates_lands_in_the_review_queue(launch, demo_config):
    # One domain (the sample is drawn per domain), and ten tasks: twenty novel ones from one domain's
    # few templates ran dry for some run ids (the offline teacher's draws are seeded by the run).
    run = launch(
        demo_config,
        requested_count=10,
        sample_rate=0.5,
        domains=[Domain.objects.get(slug="infectious-disease")],
    )
    run.refresh_from_db()
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    passed = run.candidates.filter(status=Candidate.Status.PASSED).count()
    sampled = ReviewItem.objects.filter(batch__run=run)
    # Half, rounded half up (Python's round() would send 2 of 5, not 3), and never none of some.
    assert passed > 0
    assert sampled.count() == run.sampled_count == max(1, math.floor(passed * 0.5 + 0.5))
    assert all(item.candidate.status == Candidate.Status.PASSED for item in sampled)


def test_high_risk_domains_are_always_reviewed(launch, demo_config):
    run = launch(
        demo_config, requested_count=6, sample_rate=0.0, domains=[Domain.objects.get(slug="neonatology")]
    )
    passed = run.candidates.filter(status=Candidate.Status.PASSED).count()
    assert ReviewItem.objects.filter(batch__run=run).count() == passed > 0


def test_a_resumed_run_continues_without_duplicating_records_or_paying_twice(launch, demo_config, settings):
    from synth.generation import resume_stalled_runs
    from synth.models import RunChunk, TeacherCall

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    run = launch(
        demo_config, requested_count=10, sample_rate=0.0, domains=[Domain.objects.get(slug="cardiology")]
    )
    execute_run(run.pk)
    before = {c.sequence: (c.instruction, c.output) for c in run.candidates.all()}
    paid_keys = set(TeacherCall.objects.filter(run=run).values_list("key", flat=True))
    assert len(before) == 10 and paid_keys

    # A worker that died after paying for its last steps' calls, before storing their records.
    lost = run.candidates.filter(sequence__gt=6)
    lost_steps = set(lost.values_list("provenance__step", flat=True))
    lost.delete()
    chunk = RunChunk.objects.get(run=run)
    RunChunk.objects.filter(pk=chunk.pk).update(
        status=RunChunk.Status.RUNNING,
        lease_until=timezone.now() - timedelta(seconds=1),
        steps_done=[n for n in chunk.steps_done if n not in lost_steps],
    )
    GenerationRun.objects.filter(pk=run.pk).update(status=GenerationRun.Status.RUNNING)

    assert [c.pk for c in resume_stalled_runs()] == [chunk.pk]
    execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == GenerationRun.Status.COMPLETED
    assert list(run.candidates.values_list("sequence", flat=True)) == list(range(1, 11))
    assert len({c.content_hash for c in run.candidates.all()}) == 10  # no record stored twice
    # No call answered before the worker died was made again: each still has its one recorded answer.
    for key in paid_keys:
        assert TeacherCall.objects.filter(run=run, key=key).count() == 1
    resumed = run.candidates.filter(sequence__gt=6)
    assert any(c.provenance["calls"]["tasks"]["cached"] for c in resumed)  # served from the record
    assert RunChunk.objects.get(pk=chunk.pk).claims == 2


def test_executing_a_finished_run_again_changes_nothing(launch, demo_config):
    run = launch(demo_config, requested_count=4)
    before = (Candidate.objects.count(), ReviewItem.objects.count())
    execute_run(run.pk)
    assert (Candidate.objects.count(), ReviewItem.objects.count()) == before


def test_a_cancelled_run_stops_and_keeps_what_it_made(launch, demo_config, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    run = launch(demo_config, requested_count=8)
    assert cancel_run(run)
    execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == GenerationRun.Status.CANCELLED
    assert run.candidates.count() == 0
    assert not cancel_run(run)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"technique": "telepathy"}, "not available"),
        ({"requested_count": 0}, "between 1 and"),
        ({"requested_count": 10_001}, "between 1 and"),
        ({"sample_rate": 1.5}, "between 0 % and 100 %"),
    ],
)
def test_bad_launch_settings_are_refused_and_create_nothing(launch, demo_config, overrides, message):
    with pytest.raises(GenerationError, match=message):
        launch(demo_config, **overrides)
    assert GenerationRun.objects.count() == 0


def test_a_teacher_without_its_api_key_is_refused_naming_the_variable(launch, demo_config):
    teacher = Teacher.objects.create(
        name="gpt", provider="openai", model="gpt-4.1", api_key_env="MISSING_API_KEY"
    )
    with pytest.raises(GenerationError, match="MISSING_API_KEY"):
        launch(teacher)
    assert GenerationRun.objects.count() == 0
