"""What a chunk stores: every teacher call as it completes, and each step's candidates once it ends.

A call's key names it within its run (chunk, step, slot), so an answer paid for by a worker that died
before storing its step is found here and served again instead of asking the teacher twice.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F

from synth.models import (
    Candidate,
    DiscardedText,
    GenerationRun,
    QualityResult,
    RunChunk,
    Teacher,
    TeacherCall,
)
from synth.quality.exact import record_hash
from synth.quality.gate import apply_gate
from synth.teachers.dispatch import Attempt, Call, Outcome, cached_completion
from synth.teachers.pricing import token_cost
from synth.techniques import Discard, Draft


def teacher_for(run: GenerationRun, call: Call) -> Teacher:
    """The teacher a call goes to: the run's, unless the technique names another."""
    if not call.teacher or call.teacher == run.teacher.name:
        return run.teacher
    return Teacher.objects.get(name=call.teacher)


def recorded_answer(run: GenerationRun, call: Call) -> Outcome | None:
    """The call's answer if one was paid for before (by a worker that died before storing its step)."""
    answered = (
        TeacherCall.objects.filter(run=run, key=call.key, status=TeacherCall.Status.OK)
        .select_related("batch")
        .first()
    )
    if answered is None:
        return None
    completion = cached_completion(
        provider=answered.provider,
        model=answered.model,
        text=answered.response_text,
        data=answered.data,
        batch=answered.batch.provider_batch_id if answered.batch_id else "",
    )
    attempt = Attempt(0, answered.request, ok=True, text=answered.response_text, cached=True)
    return Outcome(call, [attempt], completion=completion)


def record_attempts(run: GenerationRun, outcome: Outcome) -> None:
    """Store every attempt a call took as it completes, and add it to the run's totals at once."""
    fresh = [a for a in outcome.attempts if not a.cached]
    if not fresh:
        return
    teacher = teacher_for(run, outcome.call)  # (a call refused before batching has no dispatcher)
    provider, model = (
        teacher.provider,
        (outcome.completion.model if outcome.completion else teacher.model),
    )
    rows = []
    for attempt in fresh:
        cost = token_cost(teacher, attempt.input_tokens, attempt.output_tokens)
        rows.append(
            TeacherCall(
                run=run,
                key=outcome.call.key,
                attempt=attempt.number,
                provider=provider,
                model=model or teacher.provider,
                template=outcome.call.template,
                status=TeacherCall.Status.OK if attempt.ok else TeacherCall.Status.FAILED,
                reason=attempt.reason,
                message=attempt.message,
                request=attempt.messages,
                response_text=attempt.text,
                data=attempt.data,
                input_tokens=attempt.input_tokens,
                output_tokens=attempt.output_tokens,
                cost=cost,
                latency_ms=attempt.latency_ms,
            )
        )
    try:
        with transaction.atomic():
            TeacherCall.objects.bulk_create(rows)
    except IntegrityError:
        # Another worker answered the same call meanwhile (a lease that ran out while its worker
        # was still alive): its answer stands; keep only this worker's failed attempts.
        TeacherCall.objects.bulk_create([row for row in rows if row.status != TeacherCall.Status.OK])
    GenerationRun.objects.filter(pk=run.pk).update(
        teacher_calls=F("teacher_calls") + len(rows),
        failed_calls=F("failed_calls") + sum(1 for row in rows if row.status != TeacherCall.Status.OK),
        input_tokens=F("input_tokens") + sum(row.input_tokens for row in rows),
        output_tokens=F("output_tokens") + sum(row.output_tokens for row in rows),
        cost=F("cost") + sum((row.cost for row in rows), Decimal(0)),
    )


def store_step(
    *,
    run: GenerationRun,
    chunk: RunChunk,
    step: int,
    first_sequence: int,
    drafts: list[Draft],
    discarded: list[Discard],
    steps_done: set[int],
) -> None:
    """Store a step's drafts as candidates (numbered from `first_sequence`, through the quality gate)
    and its discarded texts, and mark the step done (`steps_done` holds it), in one transaction."""
    filtered = 0
    with transaction.atomic():
        for offset, draft in enumerate(drafts):
            candidate = Candidate.objects.create(
                run=run,
                sequence=first_sequence + offset,
                domain=draft.domain,
                technique=run.technique,
                instruction=draft.instruction,
                input=draft.input,
                output=draft.output,
                rejected_output=draft.rejected_output,
                content_hash=record_hash(draft.instruction, draft.input, draft.output, draft.rejected_output),
                teacher_provider=draft.teacher_provider or run.teacher.provider,
                teacher_model=draft.teacher_model or run.teacher.model or run.teacher.provider,
                provenance={**draft.provenance, "chunk": chunk.index, "step": step},
            )
            if draft.filter_reason:
                # The technique's own rule (e.g. self-curation score) filtered it, with its reason.
                QualityResult.objects.create(
                    candidate=candidate,
                    check_name=draft.filter_reason,
                    passed=False,
                    reason=draft.filter_message,
                    score=draft.filter_score,
                    evidence=draft.filter_evidence,
                )
                candidate.status = Candidate.Status.FILTERED
                candidate.filter_reason = draft.filter_reason
                candidate.save(update_fields=["status", "filter_reason"])
                filtered += 1
            elif apply_gate(candidate).status == Candidate.Status.FILTERED:
                filtered += 1
        DiscardedText.objects.bulk_create(
            DiscardedText(run=run, reason=d.reason, text=d.text, evidence=d.evidence) for d in discarded
        )
        RunChunk.objects.filter(pk=chunk.pk).update(steps_done=sorted(steps_done))
        GenerationRun.objects.filter(pk=run.pk).update(
            steps_done=F("steps_done") + 1,
            generated_count=F("generated_count") + len(drafts),
            discarded_count=F("discarded_count") + len(discarded),
            filtered_count=F("filtered_count") + filtered,
        )
