"""Generation runs: launching one, executing its chunks, resuming after a lost worker, cancelling.

A run is split into chunks (`RunChunk`), each a background task that any worker may take, so several
workers generate one run at once. Within a chunk, the technique's steps run concurrently: each step
is a generator that yields the teacher calls it needs and receives their outcomes, while this module
(the only code that writes to the database) submits the calls to the dispatcher, records every call
as it completes, and stores each step's records once the step ends.

Nothing is lost or paid twice when a worker dies: every answered call is recorded with a key naming
it within the run (chunk, step, slot), a resumed chunk re-runs only the steps it had not stored, and
a call whose key already has an answer is served from that record instead of the teacher. Candidate
sequences are unique per run, so no record is stored twice. A worker killed mid-chunk leaves the
chunk RUNNING with a lease that stops being renewed; `watch_run` (a task re-enqueued while the run is
active) and `resume_stalled_runs` (the `resume_runs` command) hand such chunks to another worker.
"""

from __future__ import annotations

import concurrent.futures
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Min
from django.utils import timezone

from synth.batches import BATCH_PRICE_FACTOR, BATCH_PROVIDERS, batch_refusal, open_batches, sweep_batches
from synth.models import (
    Candidate,
    DiscardedText,
    Domain,
    GenerationRun,
    ProviderBatch,
    QualityResult,
    RunChunk,
    Teacher,
    TeacherCall,
)
from synth.quality.exact import record_hash
from synth.quality.gate import apply_gate
from synth.signals import run_completed
from synth.teachers import TeacherError, client_for
from synth.teachers.dispatch import (
    Attempt,
    Call,
    Dispatcher,
    Outcome,
    RetryPolicy,
    cached_completion,
    refuse_phi,
)
from synth.teachers.prompt_screen import PHI_REASON, screens_prompts
from synth.techniques import TECHNIQUES, StepResult, Technique

logger = logging.getLogger(__name__)

MAX_RUN_SIZE = 10_000
# A chunk stops, with a message, after this many steps in a row that produced nothing.
MAX_FRUITLESS_STEPS = 10


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


# Launching -----------------------------------------------------------------------------------------


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

    from synth.tasks import run_generation, watch_run

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
            for chunk in chunks:
                run_generation.enqueue(run.pk, chunk.index)
            if watch_run.get_backend().supports_defer:  # the immediate backend (tests) cannot wait
                watch_run.using(run_after=timezone.now() + _lease() + _grace()).enqueue(run.pk)

        if enqueue:  # (the `generate` command runs the chunks itself)
            transaction.on_commit(enqueue_chunks)
    return run


def cancel_run(run: GenerationRun) -> bool:
    """Stop a queued or running run; what it already generated stays. Workers stop at their next call."""
    cancelled = GenerationRun.objects.filter(pk=run.pk, status__in=GenerationRun.ACTIVE_STATUSES).update(
        status=GenerationRun.Status.CANCELLED, finished_at=timezone.now()
    )
    if cancelled and run.use_batch_api:
        from synth.tasks import cancel_batches

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
    cost = (
        input_tokens * teacher.price_input_per_mtok + output_tokens * teacher.price_output_per_mtok
    ) / Decimal(1_000_000)
    if use_batch_api:
        cost *= BATCH_PRICE_FACTOR
    return CostEstimate(calls, input_tokens, output_tokens, cost.quantize(Decimal("0.0001")))


# Executing -----------------------------------------------------------------------------------------


def execute_run(run_id: int) -> None:
    """Execute every chunk of a run not yet done, one after another, in this process.

    An error fails the run at once: whoever runs it here (the `generate` command) sees it and decides."""
    for index in RunChunk.objects.filter(run_id=run_id).order_by("index").values_list("index", flat=True):
        execute_chunk(run_id, index, max_attempts=1)


def execute_batch_run(run_id: int, *, report=lambda line: None, sleep=time.sleep) -> None:
    """Run a batch-mode run to its end in this process (`generate --batch`): its chunks, then each of
    its provider batches as it falls due, until the run ends. Workers, if any, share the work safely."""
    from synth.batches import advance_batch

    while True:
        execute_run(run_id)
        if not GenerationRun.objects.filter(pk=run_id, status__in=GenerationRun.ACTIVE_STATUSES).exists():
            return
        batches = list(
            ProviderBatch.objects.filter(run_id=run_id, status__in=ProviderBatch.OPEN_STATUSES).order_by(
                "next_check_at"
            )
        )
        if not batches:
            sleep(1.0)  # a chunk is with another worker
            continue
        due = batches[0].next_check_at or timezone.now()
        wait = max(0.0, (due - timezone.now()).total_seconds())
        states = ", ".join(
            f"{batch.provider_batch_id or 'not yet submitted'} {batch.provider_status or batch.status}"
            for batch in batches
        )
        report(f"Waiting for {len(batches)} provider batch(es) ({states}); next check in {wait:.0f} s.")
        sleep(wait)
        for batch in batches:
            advance_batch(batch.pk)


def execute_chunk(run_id: int, index: int, *, max_attempts: int | None = None) -> None:
    """Generate one chunk. Safe to call again, by any worker, after a crash: it resumes.

    An attempt that ends on an error is retried (after a short wait) until `max_attempts` attempts in a
    row (GENERATION_CHUNK_MAX_ATTEMPTS) ended without finishing the chunk; then the run fails, with the
    last error. A lost worker's attempt counts too (see `_claim`)."""
    max_attempts = max_attempts or settings.GENERATION_CHUNK_MAX_ATTEMPTS
    run = GenerationRun.objects.select_related("teacher").get(pk=run_id)
    if not run.is_active:
        return
    chunk = _claim(run, index, max_attempts=max_attempts)
    if chunk is None:
        return  # done, another live worker holds it, or its attempts are spent
    GenerationRun.objects.filter(pk=run.pk, status=GenerationRun.Status.QUEUED).update(
        status=GenerationRun.Status.RUNNING, started_at=timezone.now()
    )
    run.refresh_from_db()
    try:
        _ChunkDriver(run, chunk).drive()
    except Exception as error:
        # The task itself is marked failed too; the chunk is retried, or fails its run, never loops.
        logger.exception(
            "Run %s chunk %s: attempt %s of %s failed", run.pk, index, chunk.unfinished_attempts, max_attempts
        )
        _attempt_failed(run, chunk, error, max_attempts)
        raise
    _complete_if_done(run)


def _lease() -> timedelta:
    return timedelta(seconds=settings.GENERATION_LEASE_SECONDS)


def _grace() -> timedelta:
    return timedelta(seconds=settings.WATCHDOG_GRACE_SECONDS)


def _claim(run: GenerationRun, index: int, *, max_attempts: int) -> RunChunk | None:
    """Take the chunk for an attempt: pending, or running under a lease that ran out (its worker died).

    Every attempt counts until one ends normally; the attempt after `max_attempts` unfinished ones
    fails the run instead of starting, so a chunk that kills its worker every time cannot loop."""
    now = timezone.now()
    claimable = RunChunk.objects.filter(run=run, index=index).filter(
        models_q_pending_or_stale(now)  # a RUNNING chunk whose lease ran out lost its worker
    )
    if not claimable.update(
        status=RunChunk.Status.RUNNING,
        lease_until=now + _lease(),
        claims=F("claims") + 1,
        unfinished_attempts=F("unfinished_attempts") + 1,
    ):
        return None
    chunk = RunChunk.objects.get(run=run, index=index)
    if chunk.unfinished_attempts > max_attempts:
        _fail(run, chunk, _attempts_spent(chunk, max_attempts))
        return None
    return chunk


def _attempts_spent(chunk: RunChunk, attempts: int) -> str:
    last = chunk.error or (
        "its worker stopped without finishing or recording an error (killed, out of memory, or cut off "
        "from the database; the workers' logs say which)"
    )
    return (
        f"Chunk {chunk.index + 1} of the run failed {attempts} attempt(s) in a row, so the run stopped. "
        f"The last attempt: {last}. The candidates made so far are kept; fix the cause, then launch a run "
        "for the rest."
    )


def _attempt_failed(run: GenerationRun, chunk: RunChunk, error: Exception, max_attempts: int) -> None:
    """Retry the chunk after a short wait, or fail the run once its attempts are spent."""
    from django_tasks_db.backend import DatabaseBackend

    from synth.tasks import run_generation

    first_line = (str(error).strip().splitlines() or [""])[0][:300]
    detail = f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__
    try:
        if chunk.unfinished_attempts >= max_attempts:
            chunk.error = detail
            _fail(run, chunk, _attempts_spent(chunk, max_attempts))
            return
        wait = min(_lease().total_seconds(), 2.0**chunk.unfinished_attempts)
        with transaction.atomic():
            released = RunChunk.objects.filter(pk=chunk.pk, status=RunChunk.Status.RUNNING).update(
                status=RunChunk.Status.PENDING, lease_until=None, error=detail
            )
            if released and isinstance(run_generation.get_backend(), DatabaseBackend):
                run_generation.using(run_after=timezone.now() + timedelta(seconds=wait)).enqueue(
                    run.pk, chunk.index
                )
            elif released:
                transaction.on_commit(lambda: run_generation.enqueue(run.pk, chunk.index))
    except DatabaseError:
        # The database itself went away: the chunk keeps its lease, and once that runs out the run's
        # watchdog (or a worker starting) hands it on.
        logger.warning("Run %s chunk %s: the failed attempt could not be recorded.", run.pk, chunk.index)


def models_q_pending_or_stale(now):
    from django.db.models import Q

    return Q(status=RunChunk.Status.PENDING) | Q(status=RunChunk.Status.RUNNING, lease_until__lt=now)


@dataclass
class _Step:
    number: int
    want: int
    generator: object
    calls: list[Call] = field(default_factory=list)
    outcomes: dict[int, Outcome] = field(default_factory=dict)


class _ChunkDriver:
    def __init__(self, run: GenerationRun, chunk: RunChunk) -> None:
        self.run = run
        self.chunk = chunk
        self.technique: Technique = TECHNIQUES[run.technique](run=run, chunk_index=chunk.index)
        self.dispatchers: dict[str, Dispatcher] = {}
        self.pending: dict[concurrent.futures.Future, tuple[_Step, int]] = {}
        self.active: dict[int, _Step] = {}
        self.stored = Candidate.objects.filter(
            run=run, sequence__gte=chunk.first_sequence, sequence__lt=chunk.first_sequence + chunk.size
        ).count()
        self.done_steps = set(chunk.steps_done)
        self.fruitless = 0
        self.failure = ""
        self.exhausted = False
        self.last_heartbeat = timezone.now()
        # Batch mode: calls waiting to go into the chunk's next provider batch, and their futures,
        # which resolve only when a later run of the chunk finds the batch's recorded results.
        self.batch_mode = run.use_batch_api
        self.batch_calls: list[tuple[Teacher, Call]] = []
        self.placeholders: set[concurrent.futures.Future] = set()
        self.parked = False

    @property
    def remaining(self) -> int:
        return self.chunk.size - self.stored

    def drive(self) -> None:
        try:
            self._loop()
        finally:
            for dispatcher in self.dispatchers.values():
                dispatcher.close()
        if self.failure:
            _fail(self.run, self.chunk, self.failure)
        elif self.parked:
            # Waits for its provider batch; collecting it hands the chunk back (synth/batches.py).
            RunChunk.objects.filter(pk=self.chunk.pk).update(unfinished_attempts=0, error="")
        elif self.remaining <= 0 or self.exhausted:
            RunChunk.objects.filter(pk=self.chunk.pk).update(
                status=RunChunk.Status.DONE, lease_until=None, unfinished_attempts=0, error=""
            )

    def _loop(self) -> None:
        next_number = 0
        # In batch mode every step the chunk needs starts at once, so its calls share one batch.
        parallel = MAX_RUN_SIZE if self.batch_mode else max(1, self.run.teacher.concurrency)
        while not self.failure:
            if not self._still_running():
                return
            in_flight = sum(step.want for step in self.active.values())
            while self.remaining - in_flight > 0 and len(self.active) < parallel and not self.exhausted:
                while next_number in self.done_steps:
                    next_number += 1
                want = min(self.technique.batch_size, self.remaining - in_flight)
                step = _Step(next_number, want, self.technique.step(next_number, want=want))
                next_number += 1
                in_flight += want
                self.active[step.number] = step
                self._advance(step, None)
                if self.failure:
                    return
            if not self.active:
                return
            if self.batch_mode and self.pending and all(f in self.placeholders for f in self.pending):
                self._park()  # every step waits for answers only a provider batch will bring
                return
            done, _ = concurrent.futures.wait(
                list(self.pending), timeout=1.0, return_when=concurrent.futures.FIRST_COMPLETED
            )
            self._heartbeat()
            for future in done:
                step, slot = self.pending.pop(future)
                outcome = future.result()
                self._record(outcome)
                step.outcomes[slot] = outcome
                if len(step.outcomes) == len(step.calls):
                    self._advance(step, [step.outcomes[i] for i in range(len(step.calls))])
                if self.failure:
                    return

    def _advance(self, step: _Step, outcomes: list[Outcome] | None) -> None:
        """Hand a step its outcomes and submit the calls it asks for next, or store what it made."""
        while True:
            try:
                calls = step.generator.send(outcomes)
            except StopIteration as stop:
                del self.active[step.number]
                self._store(step, stop.value or StepResult(drafts=[]))
                return
            except TeacherError as error:  # a technique's options are wrong: the run cannot go on
                del self.active[step.number]
                self.failure = error.message
                return
            step.calls, step.outcomes = list(calls), {}
            if not step.calls:
                outcomes = []
                continue
            for slot, call in enumerate(step.calls):
                try:
                    future = self._submit(call)
                except TeacherError as error:  # its client cannot be built (e.g. its host now resolves
                    self.failure = error.message  # to a forbidden address): the run cannot go on
                    return
                self.pending[future] = (step, slot)
            return

    def _submit(self, call: Call) -> concurrent.futures.Future:
        answered = (
            TeacherCall.objects.filter(run=self.run, key=call.key, status=TeacherCall.Status.OK)
            .select_related("batch")
            .first()
        )
        if answered is not None:
            # Paid for before (by a worker that died before storing the step): not asked again.
            future: concurrent.futures.Future = concurrent.futures.Future()
            completion = cached_completion(
                provider=answered.provider,
                model=answered.model,
                text=answered.response_text,
                data=answered.data,
                batch=answered.batch.provider_batch_id if answered.batch_id else "",
            )
            attempt = Attempt(0, answered.request, ok=True, text=answered.response_text, cached=True)
            future.set_result(Outcome(call, [attempt], completion=completion))
            return future
        if self.batch_mode and (teacher := self._teacher(call)).provider in BATCH_PROVIDERS:
            if (refused := self._phi_refusal(teacher, call)) is not None:
                future = concurrent.futures.Future()
                future.set_result(refused)
                return future
            return self._via_batch(teacher, call)
        return self._dispatcher(call.teacher).submit(call)

    def _phi_refusal(self, teacher: Teacher, call: Call) -> Outcome | None:
        """Batch mode: a prompt is PHI-screened before it is put into a batch, as the dispatcher screens
        live calls; refused once (the chunk runs again after each batch, and finds the refusal)."""
        if not screens_prompts(provider=teacher.provider, base_url=teacher.base_url):
            return None
        outcome = Outcome(call)
        if earlier := TeacherCall.objects.filter(run=self.run, key=call.key, reason=PHI_REASON).first():
            outcome.error = TeacherError(earlier.message, permanent=True, reason=PHI_REASON)
            outcome.attempts.append(
                Attempt(0, earlier.request, ok=False, reason=PHI_REASON, message=earlier.message, cached=True)
            )
            return outcome
        return outcome if refuse_phi(outcome, call.messages) else None

    def _teacher(self, call: Call) -> Teacher:
        if not call.teacher or call.teacher == self.run.teacher.name:
            return self.run.teacher
        return Teacher.objects.get(name=call.teacher)

    def _via_batch(self, teacher: Teacher, call: Call) -> concurrent.futures.Future:
        """A call a provider batch answered with a failure is that failure; any other waits for one."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        failed = (
            TeacherCall.objects.filter(run=self.run, key=call.key, batch__isnull=False)
            .exclude(status=TeacherCall.Status.OK)
            .first()
        )
        if failed is not None:
            error = TeacherError(
                failed.message, permanent=True, reason=failed.reason, raw=failed.response_text
            )
            attempt = Attempt(
                0, failed.request, ok=False, reason=failed.reason, message=failed.message, cached=True
            )
            future.set_result(Outcome(call, [attempt], error=error))
            return future
        self.batch_calls.append((teacher, call))
        self.placeholders.add(future)
        return future

    def _park(self) -> None:
        grouped: dict[Teacher, list[Call]] = {}
        for teacher, call in self.batch_calls:
            grouped.setdefault(teacher, []).append(call)
        open_batches(chunk=self.chunk, calls=grouped)
        self.parked = True

    def _dispatcher(self, teacher_name: str) -> Dispatcher:
        teacher = self.run.teacher if not teacher_name else Teacher.objects.get(name=teacher_name)
        if teacher.name not in self.dispatchers:
            self.dispatchers[teacher.name] = Dispatcher(
                client_for(teacher),
                concurrency=teacher.concurrency,
                requests_per_minute=teacher.requests_per_minute,
                tokens_per_minute=teacher.tokens_per_minute,
                policy=retry_policy(),
            )
            self.dispatchers[teacher.name].teacher = teacher
        return self.dispatchers[teacher.name]

    def _record(self, outcome: Outcome) -> None:
        """Store every attempt a call took as it completes, and add it to the run's totals at once."""
        fresh = [a for a in outcome.attempts if not a.cached]
        if not fresh:
            return
        teacher = self._teacher(outcome.call)  # (a call refused before batching has no dispatcher)
        provider, model = (
            teacher.provider,
            (outcome.completion.model if outcome.completion else teacher.model),
        )
        rows = []
        for attempt in fresh:
            cost = (
                attempt.input_tokens * teacher.price_input_per_mtok
                + attempt.output_tokens * teacher.price_output_per_mtok
            ) / Decimal(1_000_000)
            rows.append(
                TeacherCall(
                    run=self.run,
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
        GenerationRun.objects.filter(pk=self.run.pk).update(
            teacher_calls=F("teacher_calls") + len(rows),
            failed_calls=F("failed_calls") + sum(1 for row in rows if row.status != TeacherCall.Status.OK),
            input_tokens=F("input_tokens") + sum(row.input_tokens for row in rows),
            output_tokens=F("output_tokens") + sum(row.output_tokens for row in rows),
            cost=F("cost") + sum((row.cost for row in rows), Decimal(0)),
        )

    def _teacher_name(self, call: Call) -> str:
        return call.teacher or self.run.teacher.name

    def _store(self, step: _Step, result: StepResult) -> None:
        drafts = result.drafts[: max(0, self.remaining)]
        filtered = 0
        with transaction.atomic():
            for offset, draft in enumerate(drafts):
                candidate = Candidate.objects.create(
                    run=self.run,
                    sequence=self.chunk.first_sequence + self.stored + offset,
                    domain=draft.domain,
                    technique=self.run.technique,
                    instruction=draft.instruction,
                    input=draft.input,
                    output=draft.output,
                    rejected_output=draft.rejected_output,
                    content_hash=record_hash(
                        draft.instruction, draft.input, draft.output, draft.rejected_output
                    ),
                    teacher_provider=draft.teacher_provider or self.run.teacher.provider,
                    teacher_model=draft.teacher_model or self.run.teacher.model or self.run.teacher.provider,
                    provenance={**draft.provenance, "chunk": self.chunk.index, "step": step.number},
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
                DiscardedText(run=self.run, reason=d.reason, text=d.text, evidence=d.evidence)
                for d in result.discarded
            )
            self.done_steps.add(step.number)
            RunChunk.objects.filter(pk=self.chunk.pk).update(steps_done=sorted(self.done_steps))
            GenerationRun.objects.filter(pk=self.run.pk).update(
                steps_done=F("steps_done") + 1,
                generated_count=F("generated_count") + len(drafts),
                discarded_count=F("discarded_count") + len(result.discarded),
                filtered_count=F("filtered_count") + filtered,
            )
        self.stored += len(drafts)
        self.fruitless = 0 if drafts else self.fruitless + 1
        if self.fruitless >= MAX_FRUITLESS_STEPS and self.remaining > 0:
            self.run.refresh_from_db()
            self.failure = (
                f"The teacher produced no usable records in {MAX_FRUITLESS_STEPS} steps in a row "
                f"({self.run.failed_calls} failed calls; {self.run.discarded_count} drafts dropped by the "
                "technique's rules, e.g. too similar to the task pool). Check the teacher's settings and "
                "its failed calls, add seed tasks or choose more domains, and try again."
            )
            if result.stop_reason:
                self.failure = f"{result.stop_reason} {self.failure}"
        if result.stop_reason:
            self.exhausted = True  # the technique has nothing more to work on: the chunk ends short
            # The run page says why it made fewer than asked; the first chunk to run out says it.
            GenerationRun.objects.filter(pk=self.run.pk, stop_reason="").update(
                stop_reason=result.stop_reason
            )

    def _still_running(self) -> bool:
        status = GenerationRun.objects.filter(pk=self.run.pk).values_list("status", flat=True).first()
        return status == GenerationRun.Status.RUNNING

    def _heartbeat(self) -> None:
        now = timezone.now()
        if now - self.last_heartbeat >= _lease() / 4:
            RunChunk.objects.filter(pk=self.chunk.pk, status=RunChunk.Status.RUNNING).update(
                lease_until=now + _lease()
            )
            self.last_heartbeat = now


def retry_policy() -> RetryPolicy:
    return RetryPolicy(
        base_delay=settings.TEACHER_RETRY_BASE_SECONDS,
        max_delay=settings.TEACHER_RETRY_MAX_SECONDS,
        outage_patience=settings.TEACHER_OUTAGE_PATIENCE_SECONDS,
    )


def _complete_if_done(run: GenerationRun) -> None:
    with transaction.atomic():
        if RunChunk.objects.filter(run=run).exclude(status=RunChunk.Status.DONE).exists():
            return
        run.refresh_from_db()
        if run.generated_count == 0 and run.failed_calls:
            # Ending "completed" with nothing would hide a teacher that never answered.
            last = (
                TeacherCall.objects.filter(run=run, status=TeacherCall.Status.FAILED).order_by("-pk").first()
            )
            _fail(
                run,
                None,
                f"No records: the teacher answered none of the run's calls ({run.failed_calls} failed "
                f"attempts; the last: {last.message if last else 'unknown'}). Check the teacher's settings "
                "and that it is reachable, then launch the run again.",
            )
            return
        finished = GenerationRun.objects.filter(pk=run.pk, status=GenerationRun.Status.RUNNING).update(
            status=GenerationRun.Status.COMPLETED, finished_at=timezone.now()
        )
        if finished:
            run.refresh_from_db()
            run_completed.send(sender=GenerationRun, run=run)


def _fail(run: GenerationRun, chunk: RunChunk | None, message: str) -> None:
    if chunk is not None:
        RunChunk.objects.filter(pk=chunk.pk).update(status=RunChunk.Status.FAILED, error=message)
    GenerationRun.objects.filter(pk=run.pk, status__in=GenerationRun.ACTIVE_STATUSES).update(
        status=GenerationRun.Status.FAILED, error=message, finished_at=timezone.now()
    )


# Resuming ------------------------------------------------------------------------------------------


def resume_stalled_runs(*, run: GenerationRun | None = None) -> list[RunChunk]:
    """Hand to a new task each chunk whose worker died (lease ran out) or whose task was lost.

    A pending chunk with no task queued or running for it lost its task (the database went away as it
    was taken, or as its retry was queued): it gets a new one."""
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    from synth.tasks import run_generation

    now = timezone.now()
    active = RunChunk.objects.filter(run__status__in=GenerationRun.ACTIVE_STATUSES)
    if run is not None:
        active = active.filter(run=run)
    resumed = []
    for chunk in active.filter(status=RunChunk.Status.RUNNING, lease_until__lt=now):
        if not RunChunk.objects.filter(
            pk=chunk.pk, status=RunChunk.Status.RUNNING, lease_until__lt=now
        ).update(status=RunChunk.Status.PENDING):
            continue
        # django-tasks-db leaves a killed worker's task RUNNING for ever: close it, saying why.
        for result in DBTaskResult.objects.filter(task_path=run_generation.module_path, status="RUNNING"):
            if result.args_kwargs.get("args") == [chunk.run_id, chunk.index]:
                DBTaskResult.objects.filter(pk=result.pk, status="RUNNING").update(
                    status="FAILED",
                    finished_at=now,
                    exception_class_path="synth.generation.WorkerLost",
                    traceback="The worker running this chunk stopped renewing its lease; the chunk was resumed.",
                )
        run_generation.enqueue(chunk.run_id, chunk.index)
        resumed.append(chunk)
    if isinstance(run_generation.get_backend(), DatabaseBackend):
        waiting, stale = set(), {}
        for result in DBTaskResult.objects.filter(
            task_path=run_generation.module_path, status__in=["READY", "RUNNING"]
        ):
            key = tuple(result.args_kwargs.get("args") or ())
            if result.status == "RUNNING" and result.started_at and result.started_at < now - _lease():
                stale[key] = result.pk  # lost, if its chunk is still pending: a task takes it at once
            else:
                waiting.add(key)
        for chunk in active.filter(status=RunChunk.Status.PENDING):
            key = (chunk.run_id, chunk.index)
            if key in waiting:
                continue
            if key in stale:
                DBTaskResult.objects.filter(pk=stale[key], status="RUNNING").update(
                    status="FAILED",
                    finished_at=now,
                    exception_class_path="synth.generation.WorkerLost",
                    traceback="The worker running this task stopped before it took the chunk; the chunk was resumed.",
                )
            run_generation.enqueue(chunk.run_id, chunk.index)
            resumed.append(chunk)
    return resumed


def next_watch_at(run: GenerationRun):
    """When the run's watchdog should look again: just after the first of its leases that can run out.

    A chunk taken from now on holds a lease to at least now + the lease, so that bounds the wait;
    a killed worker's chunk is thus resumed within its lease plus the grace, whenever it died."""
    now = timezone.now()
    first = RunChunk.objects.filter(run=run, status=RunChunk.Status.RUNNING).aggregate(
        first=Min("lease_until")
    )["first"]
    due = min(first, now + _lease()) if first else now + _lease()
    return max(due, now) + _grace()


def watch_active_run(run_id: int):
    """Resume the run's stalled chunks; while the run is active, when to look again (else None)."""
    run = GenerationRun.objects.filter(pk=run_id).first()
    if run is None or not run.is_active:
        return None
    resume_stalled_runs(run=run)
    if run.use_batch_api:
        sweep_batches(run)
    return next_watch_at(run)


def look_after_active_runs() -> list[RunChunk]:
    """When a worker starts, or the database is back after an outage: resume stalled chunks now, and
    give every active run whose watchdog task was lost (its worker died mid-pass) a new one."""
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    from synth.tasks import watch_run

    resumed = resume_stalled_runs()
    if not isinstance(watch_run.get_backend(), DatabaseBackend):
        return resumed
    now = timezone.now()
    watched = set()
    for result in DBTaskResult.objects.filter(
        task_path=watch_run.module_path, status__in=["READY", "RUNNING"]
    ):
        if result.status == "RUNNING" and result.started_at and result.started_at < now - _lease():
            # A watchdog pass takes moments; one running for a whole lease lost its worker.
            DBTaskResult.objects.filter(pk=result.pk, status="RUNNING").update(
                status="FAILED",
                finished_at=now,
                exception_class_path="synth.generation.WorkerLost",
                traceback="The worker running this watchdog pass stopped; a new pass was queued.",
            )
            continue
        watched.update(result.args_kwargs.get("args", [])[:1])
    for run in GenerationRun.objects.filter(status__in=GenerationRun.ACTIVE_STATUSES).exclude(pk__in=watched):
        watch_run.using(run_after=next_watch_at(run)).enqueue(run.pk)
    return resumed


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
