"""A physician's revised wording of an approved item is part of the near-duplicate corpus."""

from django.db.models import Max

from review.models import Assignment, ReviewItem
from review.queue import claim_next, submit_decision
from synth.models import Candidate, QualityResult
from synth.quality.corpus import reset_indexes
from synth.quality.exact import content_hash
from synth.quality.gate import apply_gate

REVISED = (
    "Explain to a worried parent how to tell a simple febrile seizure in a toddler from an epileptic "
    "seizure, and which warning signs need an emergency visit on the same day."
)


def approve_with_edit(physician, instruction: str) -> ReviewItem:
    item = claim_next(physician)
    assignment = Assignment.objects.get(item=item, reviewer=physician)
    submit_decision(
        reviewer=physician,
        assignment_id=assignment.pk,
        verdict="edit",
        instruction=instruction,
        task_input="",
        output="A careful answer.",
        based_on=0,
    )
    return ReviewItem.objects.get(pk=item.pk)


def new_candidate(run, instruction: str) -> Candidate:
    return Candidate.objects.create(
        run=run,
        sequence=(run.candidates.aggregate(last=Max("sequence"))["last"] or 0) + 1,
        technique=run.technique,
        instruction=instruction,
        output="Another answer.",
        content_hash=content_hash(instruction, ""),
        teacher_provider="offline",
        teacher_model="offline-icd10-v1",
    )


def test_a_candidate_repeating_a_physicians_revised_wording_is_dropped_naming_the_revision(
    review_items, physician
):
    reset_indexes()
    item = approve_with_edit(physician, REVISED)
    copy = new_candidate(item.candidate.run, REVISED + " Be brief.")
    apply_gate(copy)
    copy.refresh_from_db()
    assert copy.status == Candidate.Status.FILTERED
    result = QualityResult.objects.get(candidate=copy, check_name="near_duplicate")
    assert not result.passed
    assert result.evidence["duplicate_of"] == {"kind": "revision", "id": item.final_revision_id}
    assert f"approved revision {item.final_revision_id}" in result.reason


def test_re_gating_an_approved_candidate_does_not_drop_it_for_its_own_revision(review_items, physician):
    reset_indexes()
    item = approve_with_edit(physician, REVISED)
    original = item.candidate
    original.instruction = REVISED  # the candidate's own text as close to its revision as can be
    original.save(update_fields=["instruction"])
    apply_gate(original)
    original.refresh_from_db()
    assert QualityResult.objects.get(candidate=original, check_name="near_duplicate").passed
    assert original.status == Candidate.Status.PASSED
