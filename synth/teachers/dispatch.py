"""The dispatcher: a teacher's calls run concurrently, within its limits, retried in one layer only.

- A bounded number of calls in flight (the teacher's concurrency).
- Requests- and tokens-per-minute limits (synth/teachers/limits.py): the token estimate is taken
  before each call and corrected by the usage the reply reports.
- Transport failures (429, 5xx, timeouts, refused connections) are retried with jittered
  exponential backoff; a Retry-After from the server is honoured, and holds back every caller of
  this teacher, since the limit it reports is shared. The SDKs' own retries are off (max_retries=0)
  and their timeouts explicit, so the layers never multiply.
- A reply that does not parse or does not fit the schema is re-asked a bounded number of times,
  quoting the problem; refusals, cut-off replies and rejected requests are final.

Calls run on an asyncio event loop in a background thread, so synchronous code (the run's driver,
which owns every database write) submits calls and collects `concurrent.futures.Future`s; the
providers' synchronous SDK calls run in a thread pool sized to the concurrency.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from synth.teachers.base import Completion, Message, Schema, TeacherClient, TeacherError, Usage
from synth.teachers.limits import RateLimiter
from synth.teachers.prompt_screen import phi_refusal, screens_prompts

CHARS_PER_TOKEN = 4  # a rough, provider-neutral estimate; the limiter corrects it after each call


@dataclass(frozen=True)
class Call:
    """One request a technique wants answered. `key` names it within its run, for resuming."""

    key: str
    messages: list[Message]
    schema: Schema | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    template: str = ""  # prompt template name and version, for the record
    teacher: str = ""  # another teacher's name (preference pairs); empty for the run's own
    # What the technique asks, in structured form (e.g. {"task": "answer", "instruction": ...}), for a
    # teacher that reads it instead of the prompt (the offline one); never sent to a provider.
    context: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass
class Attempt:
    """One request actually sent (or, when `cached`, one answered earlier and not paid for again)."""

    number: int
    messages: list[Message]
    ok: bool
    reason: str = ""
    message: str = ""
    text: str = ""  # the reply's text, kept for failed and unparseable replies too
    data: Any = None
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: int = 0
    cached: bool = False


@dataclass
class Outcome:
    call: Call
    attempts: list[Attempt] = field(default_factory=list)
    completion: Completion | None = None
    error: TeacherError | None = None

    @property
    def ok(self) -> bool:
        return self.completion is not None


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5  # transport attempts per call, the first included
    max_reasks: int = 2  # extra requests after an unparseable reply
    base_delay: float = 1.0
    max_delay: float = 60.0
    # A teacher down, slow or rate-limiting for minutes: a call keeps retrying (at most every
    # max_delay) until its failures have lasted this long, so an outage slows a run instead of
    # failing it. Failed attempts cost nothing; a call is paid for once, when it is answered.
    outage_patience: float = 0.0

    def gives_up(self, failures: int, failing_for: float) -> bool:
        return failures >= self.max_attempts and failing_for >= self.outage_patience

    def backoff(self, failures: int, retry_after: float | None) -> float:
        if retry_after is not None:
            # The server said when; a little jitter keeps the waiting callers from returning at once.
            return retry_after + random.uniform(0, min(1.0, 0.1 * retry_after + 0.05))
        ceiling = min(self.max_delay, self.base_delay * 2 ** (failures - 1))
        return random.uniform(ceiling / 2, ceiling)  # "equal jitter"


def reask_messages(call: Call, error: TeacherError) -> list[Message]:
    return [
        *call.messages,
        {"role": "assistant", "content": error.raw or "(empty reply)"},
        {
            "role": "user",
            "content": f"That reply could not be used: {error.message} Reply again with JSON only, "
            "fitting the requested structure.",
        },
    ]


class Dispatcher:
    def __init__(
        self,
        client: TeacherClient,
        *,
        concurrency: int = 4,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        period: float = 60.0,
        policy: RetryPolicy | None = None,
        expected_output_tokens: int = 256,
        screen_phi: bool | None = None,
    ) -> None:
        self.client = client
        # Only a teacher that says it reads a call's context gets it (the offline one): never a provider.
        self._takes_context = bool(getattr(client, "takes_context", False))
        # Every prompt is PHI-screened before it is sent (synth/teachers/prompt_screen.py).
        self.screen_phi = (
            screens_prompts(provider=client.provider, base_url=getattr(client, "base_url", None))
            if screen_phi is None
            else screen_phi
        )
        self.concurrency = max(1, concurrency)
        self.policy = policy or RetryPolicy()
        self._expected_output = float(expected_output_tokens)
        self._executor = concurrent.futures.ThreadPoolExecutor(self.concurrency, thread_name_prefix="teacher")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="dispatcher", daemon=True)
        self._thread.start()

        async def setup() -> None:
            self._slots = asyncio.Semaphore(self.concurrency)
            self._limiter = RateLimiter(
                requests_per_period=requests_per_minute, tokens_per_period=tokens_per_minute, period=period
            )

        asyncio.run_coroutine_threadsafe(setup(), self._loop).result()

    def submit(self, call: Call) -> concurrent.futures.Future[Outcome]:
        return asyncio.run_coroutine_threadsafe(self.run(call), self._loop)

    def close(self) -> None:
        """Abandon calls not yet answered and stop the loop (a cancelled run stops paying)."""
        if not self._loop.is_running():
            return

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_all(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._executor.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> Dispatcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def estimate_tokens(self, messages: list[Message], max_tokens: int | None) -> float:
        prompt = sum(len(m["content"]) for m in messages) / CHARS_PER_TOKEN
        output = self._expected_output if max_tokens is None else min(self._expected_output, max_tokens)
        return prompt + output

    async def run(self, call: Call) -> Outcome:
        outcome = Outcome(call)
        messages = list(call.messages)
        transport_failures = reasks = 0
        first_failure = 0.0
        while True:
            if self.screen_phi and refuse_phi(outcome, messages):
                return outcome
            estimate = self.estimate_tokens(messages, call.max_tokens)
            async with self._slots:
                await self._limiter.acquire(estimate)
                started = time.monotonic()
                try:
                    completion = await asyncio.get_running_loop().run_in_executor(
                        self._executor,
                        partial(
                            self.client.complete,
                            messages,
                            schema=call.schema,
                            temperature=call.temperature,
                            max_tokens=call.max_tokens,
                            seed=call.seed,
                            **({"context": call.context} if self._takes_context else {}),
                        ),
                    )
                except TeacherError as failure:
                    error = failure
                    completion = None
                latency_ms = round(1000 * (time.monotonic() - started))
            number = len(outcome.attempts) + 1
            if completion is not None:
                self._settle(estimate, completion.usage)
                outcome.attempts.append(
                    Attempt(
                        number,
                        messages,
                        ok=True,
                        text=completion.text,
                        data=completion.data,
                        input_tokens=completion.usage.input_tokens,
                        output_tokens=completion.usage.output_tokens,
                        latency_ms=completion.latency_ms or latency_ms,
                    )
                )
                outcome.completion = completion
                return outcome
            self._settle(estimate, error.usage)
            usage = error.usage or Usage()
            outcome.attempts.append(
                Attempt(
                    number,
                    messages,
                    ok=False,
                    reason=error.reason,
                    message=error.message,
                    text=error.raw,
                    input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens,
                    latency_ms=error.latency_ms or latency_ms,
                )
            )
            outcome.error = error
            if error.reason in TeacherError.TRANSPORT_REASONS:
                transport_failures += 1
                first_failure = first_failure or time.monotonic()
                if self.policy.gives_up(transport_failures, time.monotonic() - first_failure):
                    return outcome
                if error.retry_after is not None and error.reason in {"rate_limited", "overloaded"}:
                    self._limiter.pause(error.retry_after)
                await asyncio.sleep(self.policy.backoff(transport_failures, error.retry_after))
            elif (
                error.reason in TeacherError.REASK_REASONS and call.schema and reasks < self.policy.max_reasks
            ):
                reasks += 1
                messages = reask_messages(call, error)
            else:
                return outcome

    def _settle(self, estimate: float, usage: Usage | None) -> None:
        if usage is None:
            return  # nothing came back (a transport failure): keep the estimate charged, to be safe
        self._limiter.settle(estimated=estimate, actual=usage.input_tokens + usage.output_tokens)
        if usage.output_tokens:
            self._expected_output = 0.8 * self._expected_output + 0.2 * usage.output_tokens


def refuse_phi(outcome: Outcome, messages: list[Message]) -> bool:
    """If the prompt has PHI findings, record in `outcome` a failed attempt that was not sent (its
    messages with findings withheld) and say so; a clear prompt changes nothing."""
    refusal = phi_refusal(messages)
    if refusal is None:
        return False
    recorded, error = refusal
    number = len(outcome.attempts) + 1
    outcome.attempts.append(Attempt(number, recorded, ok=False, reason=error.reason, message=error.message))
    outcome.error = error
    return True


def cached_completion(*, provider: str, model: str, text: str, data: Any, batch: str = "") -> Completion:
    """A reply answered before this worker started (e.g. by a worker that was killed, or by a provider
    batch, whose id `batch` is): not paid again."""
    raw: dict[str, Any] = {"cached": True, **({"batch": batch} if batch else {})}
    return Completion(text=text, provider=provider, model=model, data=data, raw=raw)


__all__ = ["Attempt", "Call", "Dispatcher", "Outcome", "RetryPolicy", "cached_completion", "refuse_phi"]
