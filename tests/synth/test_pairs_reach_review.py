"""Preference pairs from a fresh demo pass the gate and reach physicians; a repeated pair is still caught.

A pair borrows its prompt from a seed task or a kept candidate, so it is compared with other pairs
(prompt and both responses), never with the task whose prompt it borrowed (issue 11, point 1).
"""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from review.models import ReviewItem
from synth.models import Candidate, GenerationRun, QualityResult, Teacher
from synth.quality.gate import apply_gate


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=StringIO())


def generate(*args: str) -> GenerationRun:
    call_command("generate", *args, stdout=StringIO())
    return GenerationRun.objects.order_by("-pk").first()


def test_pairs_of_a_fresh_demo_pass_and_reach_review(demo):
    run = generate("--technique", "preference", "--teacher", "offline", "--count", "5", "--sample", "1")
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    pairs = list(run.candidates.all())
    assert len(pairs) == 5 and all(p.is_pair for p in pairs)
    passed = [p for p in pairs if p.status == Candidate.Status.PASSED]
    assert len(passed) == 5, [(p.filter_reason, p.instruction) for p in pairs]
    assert len({p.instruction for p in pairs}) == 5  # each prompt paired once
    assert ReviewItem.objects.filter(candidate__in=passed).count() == 5
    for pair in passed:
        assert QualityResult.objects.get(candidate=pair, check_name="exact_duplicate").passed
        assert QualityResult.objects.get(candidate=pair, check_name="near_duplicate").passed


def test_a_second_run_pairs_new_prompts_and_the_kept_tasks_of_other_runs(demo):
    generate("--technique", "preference", "--count", "5", "--sample", "1")
    generate("--technique", "self_instruct", "--count", "6", "--domain", "cardiology", "--sample", "0")
    run = generate("--technique", "preference", "--count", "5", "--domain", "cardiology", "--sample", "1")
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    assert run.candidates.filter(status=Candidate.Status.PASSED).count() == 5
    earlier = set(Candidate.objects.exclude(run=run).exclude(rejected_output="").values_list("instruction"))
    assert not earlier & set(run.candidates.values_list("instruction"))


def test_pairs_launched_from_the_form_reach_the_physicians_pair_review(
    demo, client, django_capture_on_commit_callbacks
):
    client.force_login(get_user_model().objects.get(username="admin"))
    form = {
        "teacher": Teacher.objects.get(name="offline").pk,
        "technique": "preference",
        "requested_count": 4,
        "sample_percent": 100,
        "contrast": "flawed",
    }
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(reverse("synth:run_new"), form)
    assert r.status_code == 302
    run = GenerationRun.objects.get()
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    passed = run.candidates.filter(status=Candidate.Status.PASSED)
    assert passed.count() == 4
    assert ReviewItem.objects.filter(candidate__run=run).count() == 4

    client.force_login(get_user_model().objects.get(username="physician"))
    page = client.get(reverse("review:review"))
    assert page.status_code == 200
    assert 'data-pair="1"' in page.text and 'data-testid="response-A"' in page.text


def test_a_repeated_identical_pair_is_still_caught(demo):
    run = generate("--technique", "preference", "--count", "2", "--sample", "0")
    original = run.candidates.filter(status=Candidate.Status.PASSED).first()
    assert original is not None
    again = generate("--technique", "self_instruct", "--count", "1", "--sample", "0")

    def store(**changes) -> Candidate:
        # A pair as a worker stores it (same fields, the identity computed the same way).
        from synth.quality.exact import record_hash

        fields = {
            "instruction": original.instruction,
            "input": original.input,
            "output": original.output,
            "rejected_output": original.rejected_output,
            **changes,
        }
        return apply_gate(
            Candidate.objects.create(
                run=again,
                sequence=again.candidates.count() + 100,
                technique="preference",
                domain=original.domain,
                teacher_provider="offline",
                teacher_model="offline-icd10-v1",
                content_hash=record_hash(
                    fields["instruction"], fields["input"], fields["output"], fields["rejected_output"]
                ),
                **fields,
            )
        )

    copy = store()
    assert (copy.status, copy.filter_reason) == (Candidate.Status.FILTERED, "exact_duplicate")
    evidence = QualityResult.objects.get(candidate=copy, check_name="exact_duplicate").evidence
    assert evidence["duplicate_of"] == {"kind": "pair", "id": original.pk}

    swapped = store(output=original.rejected_output, rejected_output=original.output)
    assert swapped.filter_reason == "exact_duplicate"  # the same two answers, ranked the other way

    nearly = store(output=original.output.replace("ICD-10-CM", "ICD-10-CM code set"))
    assert (nearly.status, nearly.filter_reason) == (Candidate.Status.FILTERED, "near_duplicate")
    near = QualityResult.objects.get(candidate=nearly, check_name="near_duplicate").evidence
    assert near["duplicate_of"] == {"kind": "pair", "id": original.pk}

    # The same prompt with other answers is a new pair, and a task is not compared with pairs.
    other = store(output="A different, complete answer about the coding.", rejected_output="A worse one.")
    assert other.status == Candidate.Status.PASSED
