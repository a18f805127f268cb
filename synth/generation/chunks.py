"""Executing a run's chunks: claiming one under a lease, driving its technique's steps, retrying it.

Within a chunk, the technique's steps run concurrently: each step is a generator that yields the
teacher calls it needs and receives their outcomes, while the driver (the only code that writes to the
database, through synth/generation/records.py) submits the calls through the run's transport, records
every call as it completes, and stores each step's records once the step ends.
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.utils import timezone

from core import leases
from synth.background import run_lease, tasks
from synth.batches import advance_batch
from synth.generation.records import record_attempts, recorded_answer, store_step
from synth.generation.transports import Transport, transport_for
from synth.models import GenerationRun, ProviderBatch, RunChunk, TeacherCall
from synth.signals import run_completed
from synth.teachers import TeacherError
from synth.teachers.dispatch import Call, Outcome
from synth.techniques import TECHNIQUES, StepResult, Technique

logger = logging.getLogger(__name__)

# A chunk stops, with a message, after this many steps in a row that produced nothing.
MAX_FRUITLESS_STEPS = 10


def execute_run(run_id: int) -> None:
    """Execute every chunk of a run not yet done, one after another, in this process.

    An error fails the run at once: whoever runs it here (the `generate` command) sees it and decides."""
    for index in RunChunk.objects.filter(run_id=run_id).order_by("index").values_list("index", flat=True):
        execute_chunk(run_id, index, max_attempts=1)


def execute_batch_run(run_id: int, *, report=lambda line: None, sleep=time.sleep) -> None:
    """Run a batch-mode run to its end in this process (`generate --batch`): its chunks, then each of
    its provider batches as it falls due, until the run ends. Workers, if any, share the work safely."""
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


def _claim(run: GenerationRun, index: int, *, max_attempts: int) -> RunChunk | None:
    """Take the chunk for an attempt: pending, or running under a lease that ran out (its worker died).

    Every attempt counts until one ends normally; the attempt after `max_attempts` unfinished ones
    fails the run instead of starting, so a chunk that kills its worker every time cannot loop."""
    if not leases.claim(
        RunChunk.objects.filter(run=run, index=index),
        length=run_lease(),
        free=Q(status=RunChunk.Status.PENDING),
        held=Q(status=RunChunk.Status.RUNNING),
        status=RunChunk.Status.RUNNING,
        claims=F("claims") + 1,
        unfinished_attempts=F("unfinished_attempts") + 1,
    ):
        return None
    chunk = RunChunk.objects.get(run=run, index=index)
    if chunk.unfinished_attempts > max_attempts:
        fail_run(run, chunk, _attempts_spent(chunk, max_attempts))
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
    run_chunk = tasks().run_chunk
    first_line = (str(error).strip().splitlines() or [""])[0][:300]
    detail = f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__
    try:
        if chunk.unfinished_attempts >= max_attempts:
            chunk.error = detail
            fail_run(run, chunk, _attempts_spent(chunk, max_attempts))
            return
        wait = min(run_lease().total_seconds(), 2.0**chunk.unfinished_attempts)
        with transaction.atomic():
            released = RunChunk.objects.filter(pk=chunk.pk, status=RunChunk.Status.RUNNING).update(
                status=RunChunk.Status.PENDING, lease_until=None, error=detail
            )
            if released and leases.keeps_task_rows(run_chunk):
                run_chunk.using(run_after=timezone.now() + timedelta(seconds=wait)).enqueue(
                    run.pk, chunk.index
                )
            elif released:
                transaction.on_commit(lambda: run_chunk.enqueue(run.pk, chunk.index))
    except DatabaseError:
        # The database itself went away: the chunk keeps its lease, and once that runs out the run's
        # watchdog (or a worker starting) hands it on.
        logger.warning("Run %s chunk %s: the failed attempt could not be recorded.", run.pk, chunk.index)


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
        self.transport: Transport = transport_for(run, chunk)
        self.pending: dict[concurrent.futures.Future, tuple[_Step, int]] = {}
        self.active: dict[int, _Step] = {}
        self.stored = run.candidates.filter(
            sequence__gte=chunk.first_sequence, sequence__lt=chunk.first_sequence + chunk.size
        ).count()
        self.done_steps = set(chunk.steps_done)
        self.fruitless = 0
        self.failure = ""
        self.exhausted = False
        self.last_heartbeat = timezone.now()

    @property
    def remaining(self) -> int:
        return self.chunk.size - self.stored

    def drive(self) -> None:
        try:
            parked = self._loop()
        finally:
            self.transport.close()
        if self.failure:
            fail_run(self.run, self.chunk, self.failure)
        elif parked:
            # Waits for its provider batch; collecting it hands the chunk back (synth/batches.py).
            RunChunk.objects.filter(pk=self.chunk.pk).update(unfinished_attempts=0, error="")
        elif self.remaining <= 0 or self.exhausted:
            RunChunk.objects.filter(pk=self.chunk.pk).update(
                status=RunChunk.Status.DONE, lease_until=None, unfinished_attempts=0, error=""
            )

    def _loop(self) -> bool:
        """Run the steps until the chunk is done or fails; True if it stopped to wait for a batch."""
        next_number = 0
        while not self.failure:
            if not self._still_running():
                return False
            in_flight = sum(step.want for step in self.active.values())
            while (
                self.remaining - in_flight > 0
                and len(self.active) < self.transport.steps_at_once
                and not self.exhausted
            ):
                while next_number in self.done_steps:
                    next_number += 1
                want = min(self.technique.batch_size, self.remaining - in_flight)
                step = _Step(next_number, want, self.technique.step(next_number, want=want))
                next_number += 1
                in_flight += want
                self.active[step.number] = step
                self._advance(step, None)
                if self.failure:
                    return False
            if not self.active:
                return False
            if self.transport.park(self.pending):
                return True  # every step waits for answers only a provider batch will bring
            done, _ = concurrent.futures.wait(
                list(self.pending), timeout=1.0, return_when=concurrent.futures.FIRST_COMPLETED
            )
            self._heartbeat()
            for future in done:
                step, slot = self.pending.pop(future)
                outcome = future.result()
                record_attempts(self.run, outcome)
                step.outcomes[slot] = outcome
                if len(step.outcomes) == len(step.calls):
                    self._advance(step, [step.outcomes[i] for i in range(len(step.calls))])
                if self.failure:
                    return False
        return False

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
        if (answered := recorded_answer(self.run, call)) is not None:
            # Paid for before (by a worker that died before storing the step): not asked again.
            future: concurrent.futures.Future = concurrent.futures.Future()
            future.set_result(answered)
            return future
        return self.transport.submit(call)

    def _store(self, step: _Step, result: StepResult) -> None:
        drafts = result.drafts[: max(0, self.remaining)]
        self.done_steps.add(step.number)
        store_step(
            run=self.run,
            chunk=self.chunk,
            step=step.number,
            first_sequence=self.chunk.first_sequence + self.stored,
            drafts=drafts,
            discarded=result.discarded,
            steps_done=self.done_steps,
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
        if now - self.last_heartbeat >= run_lease() / 4:
            leases.renew(
                RunChunk.objects.filter(pk=self.chunk.pk, status=RunChunk.Status.RUNNING),
                length=run_lease(),
                now=now,
            )
            self.last_heartbeat = now


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
            fail_run(
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


def fail_run(run: GenerationRun, chunk: RunChunk | None, message: str) -> None:
    """Fail the run (and the chunk, if given) with a message saying what to fix."""
    if chunk is not None:
        RunChunk.objects.filter(pk=chunk.pk).update(status=RunChunk.Status.FAILED, error=message)
    GenerationRun.objects.filter(pk=run.pk, status__in=GenerationRun.ACTIVE_STATUSES).update(
        status=GenerationRun.Status.FAILED, error=message, finished_at=timezone.now()
    )
