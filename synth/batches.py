"""Runs through the providers' batch APIs (OpenAI Batch, Anthropic Message Batches): half price, slower.

A chunk of a batch-mode run is driven as a live one (synth/generation/), except that the calls it
needs are not sent one by one: once every step of the chunk waits for answers, they are sent as one
provider batch per teacher (`open_batches`) and the chunk waits. A background task (`check_batch`,
synth/tasks.py) submits the batch, then polls it with a growing interval, re-enqueueing itself; when
the batch has ended, `advance_batch` collects every request's result as a TeacherCall (parsed, with
refusals and cut-off replies failed, exactly as a live reply would be; cost at the batch discount)
and hands the chunk back to a worker, which re-runs its steps: the answered calls are served from
their records, and whatever the steps ask next (the next stage of a multi-step technique) becomes
the chunk's next batch.

Nothing is paid twice: each request's `custom_id` is derived from the call's key (stable across
re-runs), a batch's provider id is saved the moment the provider returns it, a retried OpenAI
submission first looks for the batch by its label, and a batch's results are recorded in one
transaction, once (a unique constraint on batch and key backs this), however often a killed or
duplicated collection is repeated.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core import leases
from synth.background import WORKER_LOST, run_lease, tasks
from synth.models import GenerationRun, ProviderBatch, RunChunk, Teacher, TeacherCall
from synth.teachers import PROVIDERS, TeacherError, client_for
from synth.teachers.base import BatchRequest, BatchResult, BatchState, Schema
from synth.teachers.dispatch import Call
from synth.teachers.pricing import token_cost

logger = logging.getLogger(__name__)

BATCH_PROVIDERS = frozenset(name for name, provider in PROVIDERS.items() if provider.batch_api)
# Both providers bill batch requests at half their live price.
BATCH_PRICE_FACTOR = Decimal("0.5")


def batch_refusal(teacher: Teacher) -> str:
    """Why this teacher cannot run through a batch API ("" when it can)."""
    if teacher.provider in BATCH_PROVIDERS:
        return ""
    return (
        f"Teacher '{teacher.name}' ({teacher.get_provider_display()}) has no batch API: batch mode is for "
        "OpenAI and Anthropic teachers. Untick “use the provider's batch API”, or choose one of those."
    )


def custom_id_for(key: str) -> str:
    """The call's name inside a batch: stable for the call, and within both providers' rules."""
    return "call-" + hashlib.sha256(key.encode()).hexdigest()[:40]


def call_cost(teacher: Teacher, input_tokens: int, output_tokens: int) -> Decimal:
    live = token_cost(teacher, input_tokens, output_tokens)
    # Rounded as the record stores it, so the run's total is the sum of its calls.
    return (live * BATCH_PRICE_FACTOR).quantize(Decimal("0.000001"))


def _first_delay() -> float:
    return float(settings.BATCH_POLL_SECONDS)


def _delay_after(polls: int) -> float:
    """Poll often at first, then less: batches take minutes to hours."""
    return min(float(settings.BATCH_POLL_MAX_SECONDS), _first_delay() * 1.5**polls)


# Opening: called by the chunk's driver once all its steps wait for answers ---------------------------


def open_batches(*, chunk: RunChunk, calls: dict[Teacher, list[Call]]) -> list[ProviderBatch]:
    """Record the chunk's pending calls as one batch per teacher, and park the chunk until collected."""
    check_batch = tasks().check_batch
    now = timezone.now()
    with transaction.atomic():
        batches = []
        for teacher, teacher_calls in calls.items():
            requests = {}
            for call in teacher_calls:
                requests[custom_id_for(call.key)] = {
                    "key": call.key,
                    "messages": call.messages,
                    "template": call.template,
                    "schema": {"name": call.schema.name, "json_schema": call.schema.json_schema}
                    if call.schema
                    else None,
                    "temperature": call.temperature,
                    "max_tokens": call.max_tokens,
                    "seed": call.seed,
                }
            batches.append(
                ProviderBatch.objects.create(
                    run_id=chunk.run_id,
                    chunk=chunk,
                    teacher=teacher,
                    requests=requests,
                    request_count=len(requests),
                    next_check_at=now,
                )
            )
        RunChunk.objects.filter(pk=chunk.pk).update(status=RunChunk.Status.WAITING, lease_until=None)

        def enqueue() -> None:
            for batch in batches:
                check_batch.enqueue(batch.pk)

        transaction.on_commit(enqueue)
    return batches


# Advancing: submit, poll, collect ------------------------------------------------------------------


def advance_batch(batch_id: int) -> float | None:
    """Take the batch's next step; the seconds until it should be looked at again, or None when done.

    Claimed like a chunk: a task finding the batch not yet due (another task holds it, or it was
    checked a moment ago) does nothing, so duplicated or resumed tasks never submit or collect twice.
    Its next check is its lease: the time the batch falls due holds it until then."""
    now = timezone.now()
    if not leases.claim(
        ProviderBatch.objects.filter(pk=batch_id, status__in=ProviderBatch.OPEN_STATUSES),
        length=run_lease(),
        free=Q(next_check_at__lte=now),
        lease="next_check_at",
        now=now,
    ):
        return None
    batch = ProviderBatch.objects.select_related("run", "teacher", "chunk").get(pk=batch_id)
    if not batch.run.is_active:
        cancel_batch(batch)
        return None
    try:
        if batch.status == ProviderBatch.Status.PREPARING:
            return _submit(batch)
        return _poll(batch)
    except TeacherError as error:
        if error.permanent:
            message = f"The run's provider batch failed: {error.message}"
            if batch.status == ProviderBatch.Status.PREPARING:
                message += (
                    " Batch mode needs the provider's batch API (OpenAI or Anthropic); OpenAI-compatible"
                    " servers such as vLLM or Ollama usually have none: launch the run without it."
                )
            _fail(batch, message)
            return None
        # A network problem or an overloaded provider: try again at the next check.
        delay = max(_delay_after(batch.polls), error.retry_after or 0)
        ProviderBatch.objects.filter(pk=batch.pk).update(
            error=error.message, next_check_at=timezone.now() + timedelta(seconds=delay)
        )
        return delay


def _submit(batch: ProviderBatch) -> float | None:
    client = client_for(batch.teacher)  # checks the base URL again, and finds the key
    requests = [
        BatchRequest(
            custom_id=custom_id,
            messages=request["messages"],
            schema=_schema(request),
            temperature=request["temperature"],
            max_tokens=request["max_tokens"],
            seed=request["seed"],
        )
        for custom_id, request in batch.requests.items()
    ]
    retry = batch.submit_attempts > 0  # an earlier attempt may have created the batch before dying
    ProviderBatch.objects.filter(pk=batch.pk).update(submit_attempts=F("submit_attempts") + 1)

    def remember_file(file_id: str) -> None:
        ProviderBatch.objects.filter(pk=batch.pk).update(input_file_id=file_id)

    provider_batch_id = client.submit_batch(
        requests,
        label=f"run-{batch.run_id}-batch-{batch.pk}",
        file_id=batch.input_file_id,
        remember_file=remember_file,
        retry=retry,
    )
    delay = _first_delay()
    # Saved at once, before anything else can happen to this worker: the id is what we paid for.
    ProviderBatch.objects.filter(pk=batch.pk).update(
        provider_batch_id=provider_batch_id,
        status=ProviderBatch.Status.SUBMITTED,
        submitted_at=timezone.now(),
        next_check_at=timezone.now() + timedelta(seconds=delay),
        error="",
    )
    if not GenerationRun.objects.filter(pk=batch.run_id, status__in=GenerationRun.ACTIVE_STATUSES).exists():
        batch.refresh_from_db()
        cancel_batch(batch)  # cancelled while this was being submitted
        return None
    return delay


def _poll(batch: ProviderBatch) -> float | None:
    client = client_for(batch.teacher)
    state = client.batch_state(batch.provider_batch_id)
    ProviderBatch.objects.filter(pk=batch.pk).update(
        polls=F("polls") + 1, provider_status=state.status, counts=state.counts, error=""
    )
    if not state.ended:
        delay = _delay_after(batch.polls + 1)
        ProviderBatch.objects.filter(pk=batch.pk).update(
            next_check_at=timezone.now() + timedelta(seconds=delay)
        )
        return delay
    results: dict[str, BatchResult] = {}
    if not state.error:
        schemas = {custom_id: _schema(request) for custom_id, request in batch.requests.items()}
        for result in client.batch_results(batch.provider_batch_id, schemas):
            results[result.custom_id] = result
    collect(batch, state=state, results=results)
    return None


def _schema(request: dict) -> Schema | None:
    schema = request.get("schema")
    return Schema(name=schema["name"], json_schema=schema["json_schema"]) if schema else None


def collect(batch: ProviderBatch, *, state: BatchState, results: dict[str, BatchResult]) -> int:
    """Record each request's result as a call, once, and hand the chunk back; the calls recorded."""
    run_chunk = tasks().run_chunk
    teacher = batch.teacher
    with transaction.atomic():
        locked = ProviderBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status != ProviderBatch.Status.SUBMITTED:
            return 0  # another task collected it meanwhile
        keys = [request["key"] for request in batch.requests.values()]
        recorded = set(TeacherCall.objects.filter(batch=batch).values_list("key", flat=True))
        answered = set(
            TeacherCall.objects.filter(
                run_id=batch.run_id, key__in=keys, status=TeacherCall.Status.OK
            ).values_list("key", flat=True)
        )
        rows = []
        for custom_id, request in batch.requests.items():
            if request["key"] in recorded or request["key"] in answered:
                continue
            rows.append(_call_record(batch, teacher, request, results.get(custom_id), state))
        TeacherCall.objects.bulk_create(rows)
        failed = sum(1 for row in rows if row.status != TeacherCall.Status.OK)
        GenerationRun.objects.filter(pk=batch.run_id).update(
            teacher_calls=F("teacher_calls") + len(rows),
            failed_calls=F("failed_calls") + failed,
            input_tokens=F("input_tokens") + sum(row.input_tokens for row in rows),
            output_tokens=F("output_tokens") + sum(row.output_tokens for row in rows),
            cost=F("cost") + sum((row.cost for row in rows), Decimal(0)),
        )
        ProviderBatch.objects.filter(pk=batch.pk).update(
            status=ProviderBatch.Status.COLLECTED,
            provider_status=state.status,
            counts=state.counts,
            error=state.error,
            finished_at=timezone.now(),
            next_check_at=None,
        )
        others_open = (
            ProviderBatch.objects.filter(chunk_id=batch.chunk_id, status__in=ProviderBatch.OPEN_STATUSES)
            .exclude(pk=batch.pk)
            .exists()
        )
        if not others_open:
            # A running chunk whose lease has run out: the task enqueued below takes it, and should
            # this worker die before enqueueing, the run's watcher hands it to another.
            RunChunk.objects.filter(pk=batch.chunk_id, status=RunChunk.Status.WAITING).update(
                status=RunChunk.Status.RUNNING, lease_until=timezone.now() - timedelta(seconds=1)
            )
            index = batch.chunk.index
            transaction.on_commit(lambda: run_chunk.enqueue(batch.run_id, index))
    return len(rows)


def _call_record(
    batch: ProviderBatch, teacher: Teacher, request: dict, result: BatchResult | None, state: BatchState
) -> TeacherCall:
    call = TeacherCall(
        run_id=batch.run_id,
        batch=batch,
        key=request["key"],
        attempt=1,
        provider=teacher.provider,
        model=teacher.model or teacher.provider,
        template=request["template"],
        request=request["messages"],
        status=TeacherCall.Status.FAILED,
    )
    if result is None:
        if state.error:
            call.reason, call.message = "batch_failed", f"The provider failed the whole batch: {state.error}"
        else:
            call.reason = {"expired": "expired", "cancelled": "cancelled", "canceled": "cancelled"}.get(
                state.status, "missing"
            )
            call.message = f"The provider returned no result for this request (batch {state.status})."
        return call
    if result.completion is not None:
        completion = result.completion
        call.status = TeacherCall.Status.OK
        call.model = completion.model or call.model
        call.response_text = completion.text
        call.data = completion.data
        call.input_tokens = completion.usage.input_tokens
        call.output_tokens = completion.usage.output_tokens
    else:
        error = result.error
        call.reason, call.message, call.response_text = error.reason, error.message, error.raw
        if error.usage is not None:  # billed although unusable (refused, cut off, unparseable)
            call.input_tokens, call.output_tokens = error.usage.input_tokens, error.usage.output_tokens
    call.cost = call_cost(teacher, call.input_tokens, call.output_tokens)
    return call


# Cancelling, failing, sweeping ---------------------------------------------------------------------


def cancel_batch(batch: ProviderBatch) -> None:
    """Stop the provider working on (and billing) a batch of a cancelled run."""
    note = ""
    if batch.provider_batch_id:
        try:
            client_for(batch.teacher).cancel_batch(batch.provider_batch_id)
        except TeacherError as error:
            note = f"Cancelling the batch at the provider failed: {error.message}"
    ProviderBatch.objects.filter(pk=batch.pk, status__in=ProviderBatch.OPEN_STATUSES).update(
        status=ProviderBatch.Status.CANCELLED, finished_at=timezone.now(), next_check_at=None, error=note
    )


def cancel_run_batches(run_id: int) -> None:
    for batch in ProviderBatch.objects.filter(
        run_id=run_id, status__in=ProviderBatch.OPEN_STATUSES
    ).select_related("teacher"):
        cancel_batch(batch)


def _fail(batch: ProviderBatch, message: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        ProviderBatch.objects.filter(pk=batch.pk).update(
            status=ProviderBatch.Status.FAILED, error=message, finished_at=now, next_check_at=None
        )
        RunChunk.objects.filter(pk=batch.chunk_id).update(status=RunChunk.Status.FAILED, error=message)
        GenerationRun.objects.filter(pk=batch.run_id, status__in=GenerationRun.ACTIVE_STATUSES).update(
            status=GenerationRun.Status.FAILED, error=message, finished_at=now
        )


def sweep_batches(run: GenerationRun) -> list[ProviderBatch]:
    """Re-enqueue the check of batches long overdue: the worker that held them died."""
    check_batch = tasks().check_batch
    now = timezone.now()
    overdue = list(
        leases.stalled(
            ProviderBatch.objects.filter(run=run, status__in=ProviderBatch.OPEN_STATUSES),
            lease="next_check_at",
            now=now,
            overdue=run_lease(),
        )
    )
    for batch in overdue:
        leases.close_lost_tasks(
            check_batch,
            [batch.pk],
            started_before=now - run_lease(),
            exception_path=WORKER_LOST,
            reason="The worker checking this batch stopped; the check was queued again.",
            now=now,
        )
        check_batch.enqueue(batch.pk)
    return overdue


def batches_by_teacher(calls: list[tuple[Teacher, Call]]) -> dict[Teacher, list[Call]]:
    grouped: dict[Teacher, list[Call]] = defaultdict(list)
    for teacher, call in calls:
        grouped[teacher].append(call)
    return dict(grouped)
