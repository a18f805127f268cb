"""How a chunk's teacher calls reach their teachers: live, one by one through a dispatcher, or
gathered into provider batches (synth/batches.py) that answer them later.

The chunk's driver (synth/generation/chunks.py) asks a transport to submit each call, gets a future
for its outcome, and asks it, once no future can complete, whether the chunk should wait for a
provider batch (`park`).
"""

from __future__ import annotations

import concurrent.futures
import math
from collections.abc import Iterable
from typing import Protocol

from django.conf import settings

from synth.batches import BATCH_PROVIDERS, batches_by_teacher, open_batches
from synth.generation.records import teacher_for
from synth.models import GenerationRun, RunChunk, Teacher, TeacherCall
from synth.teachers import TeacherError, client_for
from synth.teachers.dispatch import Attempt, Call, Dispatcher, Outcome, RetryPolicy, refuse_phi
from synth.teachers.prompt_screen import PHI_REASON, screens_prompts


def retry_policy() -> RetryPolicy:
    return RetryPolicy(
        base_delay=settings.TEACHER_RETRY_BASE_SECONDS,
        max_delay=settings.TEACHER_RETRY_MAX_SECONDS,
        outage_patience=settings.TEACHER_OUTAGE_PATIENCE_SECONDS,
    )


class Transport(Protocol):
    # How many of the chunk's steps may wait for answers at once.
    steps_at_once: float

    def submit(self, call: Call) -> concurrent.futures.Future:
        """Send the call; the future resolves with its outcome."""

    def park(self, pending: Iterable[concurrent.futures.Future]) -> bool:
        """True when every pending call waits for a provider batch, now opened: the chunk stops here."""

    def close(self) -> None: ...


class LiveTransport:
    """Each call goes to its teacher at once, through one dispatcher per teacher (its concurrency,
    rate limits and retries)."""

    def __init__(self, run: GenerationRun) -> None:
        self.run = run
        self.steps_at_once = max(1, run.teacher.concurrency)
        self.dispatchers: dict[str, Dispatcher] = {}

    def submit(self, call: Call) -> concurrent.futures.Future:
        return self._dispatcher(call.teacher).submit(call)

    def park(self, pending: Iterable[concurrent.futures.Future]) -> bool:
        return False  # every pending call is being answered

    def close(self) -> None:
        for dispatcher in self.dispatchers.values():
            dispatcher.close()

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


class BatchTransport:
    """Calls to a teacher with a batch API wait for the chunk's next provider batch: their futures
    resolve only when a later run of the chunk finds the batch's recorded results (as recorded
    answers). Calls to other teachers go live."""

    # Every step the chunk needs starts at once, so its calls share one batch.
    steps_at_once = math.inf

    def __init__(self, run: GenerationRun, chunk: RunChunk) -> None:
        self.run = run
        self.chunk = chunk
        self.live = LiveTransport(run)
        self.waiting: list[tuple[Teacher, Call]] = []
        self.unanswered: set[concurrent.futures.Future] = set()

    def submit(self, call: Call) -> concurrent.futures.Future:
        teacher = teacher_for(self.run, call)
        if teacher.provider not in BATCH_PROVIDERS:
            return self.live.submit(call)
        if (refused := self._phi_refusal(teacher, call)) is not None:
            future: concurrent.futures.Future = concurrent.futures.Future()
            future.set_result(refused)
            return future
        return self._via_batch(teacher, call)

    def park(self, pending: Iterable[concurrent.futures.Future]) -> bool:
        pending = list(pending)
        if not pending or not all(future in self.unanswered for future in pending):
            return False
        # Collecting the batches hands the chunk back (synth/batches.py).
        open_batches(chunk=self.chunk, calls=batches_by_teacher(self.waiting))
        return True

    def close(self) -> None:
        self.live.close()

    def _phi_refusal(self, teacher: Teacher, call: Call) -> Outcome | None:
        """A prompt is PHI-screened before it is put into a batch, as the dispatcher screens live
        calls; refused once (the chunk runs again after each batch, and finds the refusal)."""
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
        self.waiting.append((teacher, call))
        self.unanswered.add(future)
        return future


def transport_for(run: GenerationRun, chunk: RunChunk) -> Transport:
    return BatchTransport(run, chunk) if run.use_batch_api else LiveTransport(run)
