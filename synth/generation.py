"""Generation runs: launching one, executing it step by step, cancelling it."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from synth.models import Candidate, DiscardedText, Domain, GenerationRun, Teacher
from synth.quality.exact import content_hash
from synth.quality.gate import apply_gate
from synth.signals import run_completed
from synth.teachers import TeacherError, client_for
from synth.techniques import TECHNIQUES, StepResult

logger = logging.getLogger(__name__)

MAX_RUN_SIZE = 10_000
# A run stops, with a message, after this many steps in a row that produced nothing.
MAX_FRUITLESS_STEPS = 10


class GenerationError(Exception):
    """A run cannot be launched or continued; the message says what to fix."""


def available_techniques() -> list[tuple[str, str]]:
    return [(name, cls.label) for name, cls in TECHNIQUES.items()]


def launch_run(
    *,
    teacher: Teacher,
    technique: str,
    requested_count: int,
    sample_rate: float,
    domains: list[Domain] | None = None,
    options: dict | None = None,
    created_by=None,
) -> GenerationRun:
    if technique not in TECHNIQUES:
        raise GenerationError(
            f"The technique '{technique}' is not available. Choose one of: {', '.join(TECHNIQUES)}."
        )
    if not 1 <= requested_count <= MAX_RUN_SIZE:
        raise GenerationError(f"Ask for between 1 and {MAX_RUN_SIZE:,} candidates.")
    if not 0 <= sample_rate <= 1:
        raise GenerationError("The review sample must be between 0 % and 100 %.")
    try:
        client_for(teacher)  # fails now, with the variable to set, rather than in the worker
    except TeacherError as error:
        raise GenerationError(error.message) from error

    from synth.tasks import run_generation

    with transaction.atomic():
        run = GenerationRun.objects.create(
            teacher=teacher,
            technique=technique,
            requested_count=requested_count,
            sample_rate=sample_rate,
            options=options or {},
            created_by=created_by,
        )
        run.domains.set(domains or [])
        transaction.on_commit(lambda: run_generation.enqueue(run.pk))
    return run


def cancel_run(run: GenerationRun) -> bool:
    """Stop a queued or running run; what it already generated stays."""
    cancelled = GenerationRun.objects.filter(pk=run.pk, status__in=GenerationRun.ACTIVE_STATUSES).update(
        status=GenerationRun.Status.CANCELLED, finished_at=timezone.now()
    )
    return cancelled == 1


def execute_run(run_id: int) -> None:
    """Generate until the run holds its requested count. Safe to call again after a crash."""
    run = GenerationRun.objects.select_related("teacher").get(pk=run_id)
    if not run.is_active:
        return
    try:
        _generate(run)
    except Exception as error:
        # A bug must not leave the run looking busy forever; the task itself is marked failed too.
        logger.exception("Run %s failed unexpectedly", run.pk)
        _fail(
            run,
            f"The run stopped on an unexpected error ({type(error).__name__}). Its candidates so far "
            "are kept; the server log has the details.",
        )
        raise


def _generate(run: GenerationRun) -> None:
    GenerationRun.objects.filter(pk=run.pk).update(
        status=GenerationRun.Status.RUNNING, started_at=run.started_at or timezone.now()
    )
    try:
        technique = TECHNIQUES[run.technique](teacher=client_for(run.teacher), run=run)
    except (KeyError, TeacherError) as error:
        _fail(run, getattr(error, "message", f"Unknown technique '{run.technique}'."))
        return

    fruitless_steps = 0
    while True:
        run.refresh_from_db()
        if run.status != GenerationRun.Status.RUNNING:
            return  # cancelled meanwhile
        done = run.candidates.count()
        if done >= run.requested_count:
            break
        if fruitless_steps >= MAX_FRUITLESS_STEPS:
            _fail(
                run,
                f"The teacher produced no usable records in {MAX_FRUITLESS_STEPS} steps in a row "
                f"({run.failed_calls} failed calls; {run.discarded_count} drafts dropped by the "
                "technique's rules, e.g. too similar to the task pool). Check the teacher's settings, "
                "add seed tasks or choose more domains, and try again.",
            )
            return
        want = min(technique.batch_size, run.requested_count - done)
        try:
            result = technique.step(run.steps_done, want=want)
        except TeacherError as error:
            if error.permanent:
                _fail(run, f"The teacher refused the request: {error.message}")
                return
            logger.warning("Run %s step %s failed: %s", run.pk, run.steps_done, error.message)
            result = StepResult(drafts=[], completions=[], failures=[error])
        _store_step(run, result, first_sequence=done + 1, limit=want)
        fruitless_steps = 0 if result.drafts else fruitless_steps + 1

    with transaction.atomic():
        finished = GenerationRun.objects.filter(pk=run.pk, status=GenerationRun.Status.RUNNING).update(
            status=GenerationRun.Status.COMPLETED, finished_at=timezone.now()
        )
        if finished:
            run.refresh_from_db()
            run_completed.send(sender=GenerationRun, run=run)


def _store_step(run: GenerationRun, result: StepResult, *, first_sequence: int, limit: int) -> None:
    teacher = run.teacher
    input_tokens = sum(c.usage.input_tokens for c in result.completions)
    output_tokens = sum(c.usage.output_tokens for c in result.completions)
    cost = (
        input_tokens * teacher.price_input_per_mtok + output_tokens * teacher.price_output_per_mtok
    ) / Decimal(1_000_000)
    filtered = 0
    with transaction.atomic():
        for sequence, draft in enumerate(result.drafts[:limit], start=first_sequence):
            candidate = Candidate.objects.create(
                run=run,
                sequence=sequence,
                domain=draft.domain,
                technique=run.technique,
                instruction=draft.instruction,
                input=draft.input,
                output=draft.output,
                content_hash=content_hash(draft.instruction, draft.input),
                teacher_provider=teacher.provider,
                teacher_model=result.completions[0].model if result.completions else teacher.model,
                provenance=draft.provenance,
            )
            if apply_gate(candidate).status == Candidate.Status.FILTERED:
                filtered += 1
        DiscardedText.objects.bulk_create(
            DiscardedText(run=run, reason=d.reason, text=d.text, evidence=d.evidence)
            for d in result.discarded
        )
        GenerationRun.objects.filter(pk=run.pk).update(
            steps_done=F("steps_done") + 1,
            generated_count=F("generated_count") + min(len(result.drafts), limit),
            discarded_count=F("discarded_count") + len(result.discarded),
            filtered_count=F("filtered_count") + filtered,
            teacher_calls=F("teacher_calls") + len(result.completions) + len(result.failures),
            failed_calls=F("failed_calls") + len(result.failures),
            input_tokens=F("input_tokens") + input_tokens,
            output_tokens=F("output_tokens") + output_tokens,
            cost=F("cost") + cost,
        )


def _fail(run: GenerationRun, message: str) -> None:
    GenerationRun.objects.filter(pk=run.pk).update(
        status=GenerationRun.Status.FAILED, error=message, finished_at=timezone.now()
    )
