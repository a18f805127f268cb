"""Launching a generation run (its chunks queued as tasks), estimating its cost, cancelling it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import leases
from synth.background import run_lease, tasks
from synth.batches import BATCH_PRICE_FACTOR, batch_refusal
from synth.models import Domain, GenerationRun, RunChunk, Teacher
from synth.teachers import TeacherError, client_for
from synth.teachers.pricing import token_cost
from synth.techniques import TECHNIQUES

MAX_RUN_SIZE = 10_000


class GenerationError(Exception):
    """A run cannot be launched or continued; the message says what to fix."""


def available_techniques() -> list[tuple[str, str]]:
    return [(name, cls.label) for name, cls in TECHNIQUES.items()]


def ensure_offline_teacher() -> Teacher:
    """The built-in teacher always exists (a data migration creates it; this repairs a deletion)."""
    teacher, _ = Teacher.objects.get_or_create(
        name="offline", defaults={"provider": Teacher.Provider.OFFLINE, "model": "offline-icd10-v1"}
    )
    return teacher


def launch_run(
    *,
    teacher: Teacher,
    technique: str,
    requested_count: int,
    sample_rate: float,
    domains: list[Domain] | None = None,
    options: dict | None = None,
    use_batch_api: bool = False,
    created_by=None,
    enqueue: bool = True,
    fill_gaps: bool = False,
) -> GenerationRun:
    if technique not in TECHNIQUES:
        raise GenerationError(
            f"The technique '{technique}' is not available. Choose one of: {', '.join(TECHNIQUES)}."
        )
    if not 1 <= requested_count <= MAX_RUN_SIZE:
        raise GenerationError(f"Ask for between 1 and {MAX_RUN_SIZE:,} candidates.")
    if not 0 <= sample_rate <= 1:
        raise GenerationError("The review sample must be between 0 % and 100 %.")
    if use_batch_api and (refusal := batch_refusal(teacher)):
        raise GenerationError(refusal)
    try:
        client_for(teacher)  # fails now, with the variable to set, rather than in the worker
    except TeacherError as error:
        raise GenerationError(error.message) from error
    options = options or {}
    if fill_gaps:  # coverage: steer the run to the domains furthest below their target share
        from synth.quality.diversity import domains_furthest_below_target

        domains = domains_furthest_below_target()
        if not domains:
            raise GenerationError(
                "No domain is below its target share: set target shares on the domains in the admin, "
                "or choose the domains yourself."
            )
        options = {**options, "filled_gaps": [d.slug for d in domains]}
    try:
        TECHNIQUES[technique].check_options(options, domains=domains or [])
    except TeacherError as error:
        raise GenerationError(error.message) from error

    chunk_size = max(1, settings.GENERATION_CHUNK_SIZE)
    with transaction.atomic():
        run = GenerationRun.objects.create(
            teacher=teacher,
            technique=technique,
            requested_count=requested_count,
            sample_rate=sample_rate,
            options=options,
            use_batch_api=use_batch_api,
            created_by=created_by,
        )
        run.domains.set(domains or [])
        chunks = RunChunk.objects.bulk_create(
            RunChunk(
                run=run,
                index=index,
                first_sequence=index * chunk_size + 1,
                size=min(chunk_size, requested_count - index * chunk_size),
            )
            for index in range(math.ceil(requested_count / chunk_size))
        )

        def enqueue_chunks() -> None:
            queued = tasks()
            for chunk in chunks:
                queued.run_chunk.enqueue(run.pk, chunk.index)
            if queued.watch_run.get_backend().supports_defer:  # the immediate backend (tests) cannot wait
                queued.watch_run.using(run_after=leases.next_watch_at(None, length=run_lease())).enqueue(
                    run.pk
                )

        if enqueue:  # (the `generate` command runs the chunks itself)
            transaction.on_commit(enqueue_chunks)
    return run


def cancel_run(run: GenerationRun) -> bool:
    """Stop a queued or running run; what it already generated stays. Workers stop at their next call."""
    cancelled = GenerationRun.objects.filter(pk=run.pk, status__in=GenerationRun.ACTIVE_STATUSES).update(
        status=GenerationRun.Status.CANCELLED, finished_at=timezone.now()
    )
    if cancelled and run.use_batch_api:
        cancel_batches = tasks().cancel_batches
        transaction.on_commit(lambda: cancel_batches.enqueue(run.pk))  # stop the provider billing
    return cancelled == 1


@dataclass(frozen=True)
class CostEstimate:
    calls: int
    input_tokens: int
    output_tokens: int
    cost: Decimal


def estimate_cost(
    *, teacher: Teacher, technique: str, requested_count: int, use_batch_api: bool = False
) -> CostEstimate:
    """What a run will roughly cost, from the technique's calls per record and typical prompt sizes."""
    profile = TECHNIQUES[technique]
    calls = math.ceil(requested_count * profile.calls_per_record)
    input_tokens = calls * profile.input_tokens_per_call
    output_tokens = calls * min(profile.output_tokens_per_call, teacher.max_tokens)
    cost = token_cost(teacher, input_tokens, output_tokens)
    if use_batch_api:
        cost *= BATCH_PRICE_FACTOR
    return CostEstimate(calls, input_tokens, output_tokens, cost.quantize(Decimal("0.0001")))


def run_summary(run: GenerationRun) -> str:
    """The run's figures, as the `generate` command prints them."""
    return (
        f"Run {run.pk} ({run.get_technique_display()}, teacher {run.teacher.name}): {run.get_status_display()}\n"
        f"  candidates: {run.generated_count} of {run.requested_count} "
        f"({run.generated_count - run.filtered_count} passed, {run.filtered_count} filtered; "
        f"{run.discarded_count} drafts dropped by the technique's rules)\n"
        f"  teacher calls: {run.teacher_calls} ({run.failed_calls} failed)\n"
        f"  tokens: {run.input_tokens:,} in, {run.output_tokens:,} out; cost ${run.cost:.4f}"
    )
