"""The one interface every teacher provider implements, and its result and error types."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from synth.plugins import PROVIDERS

if TYPE_CHECKING:
    from synth.models import Teacher


class TeacherError(Exception):
    """A teacher call failed. Only non-permanent errors are worth retrying."""

    # Why a call failed, for the per-call record and the retry policy (synth/teachers/dispatch.py):
    # transport problems are retried with backoff, unusable replies are re-asked, the rest are final.
    TRANSPORT_REASONS = frozenset({"rate_limited", "overloaded", "server_error", "timeout", "connection"})
    REASK_REASONS = frozenset({"unparseable"})

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        raw: str = "",
        reason: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.raw = raw  # whatever the provider sent back, kept for inspection
        # rate_limited, overloaded, server_error, timeout, connection, unparseable, refusal, cut_off,
        # content_filter, rejected (the request or account needs fixing), or "" when unclassified.
        self.reason = reason or ("rejected" if permanent else "error")
        self.retry_after = retry_after  # seconds, from the server's Retry-After header
        self.usage: Usage | None = None  # tokens billed for a reply that was then unusable
        self.latency_ms = 0


@dataclass(frozen=True)
class Schema:
    """A JSON schema a technique asks the teacher's reply to fit."""

    name: str  # short identifier, e.g. "instructions"; providers use it as the schema/tool name
    json_schema: dict[str, Any]


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class Completion:
    """What a teacher returned for one call."""

    text: str
    provider: str
    model: str
    data: Any = None  # the parsed JSON when a schema was given
    usage: Usage = field(default_factory=Usage)
    raw: dict[str, Any] = field(default_factory=dict)  # provider response, JSON-serialisable
    latency_ms: int = 0


Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": "..."}


class TeacherClient(Protocol):
    provider: str
    model: str

    def complete(
        self,
        messages: list[Message],
        *,
        schema: Schema | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
    ) -> Completion: ...


class TeacherProvider:
    """A kind of teacher (`Teacher.provider`), one module each: a subclass registers under its `provider`.

    Subclasses implement TeacherClient; those whose `batch_api` is true implement BatchingTeacher too.
    """

    provider: ClassVar[str]  # the name stored in Teacher.provider
    label: ClassVar[str]  # how the admin offers it
    order: ClassVar[int] = 100  # its place among the admin's choices
    batch_api: ClassVar[bool] = False  # runs may go through the provider's batch API (synth/batches.py)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "provider" not in cls.__dict__:  # a base that providers share (synth/teachers/sdk_provider.py)
            return
        registered = PROVIDERS.setdefault(cls.provider, cls)
        if registered.__qualname__ != cls.__qualname__ or registered.__module__ != cls.__module__:
            raise TypeError(f"Two teacher providers are named '{cls.provider}': {registered} and {cls}.")
        PROVIDERS[cls.provider] = cls  # the same class again, e.g. its module reloaded

    @classmethod
    def for_teacher(cls, teacher: Teacher) -> TeacherClient:
        """The client a Teacher row describes; a TeacherError (permanent) if it cannot be built."""
        return cls(teacher.model)


def parse_json_reply(text: str, schema: Schema) -> Any:
    """Parse a reply that must be a JSON object carrying the schema's required keys.

    Tolerates a Markdown code fence around the JSON, which models add even when told not to.
    """
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`")
        body = body.split("\n", 1)[1] if "\n" in body else ""
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise TeacherError(
            f"The teacher's reply is not valid JSON ({exc.msg} at position {exc.pos}).",
            permanent=False,
            raw=text,
            reason="unparseable",
        ) from exc
    if not isinstance(data, dict):
        raise TeacherError(
            "The teacher's reply is JSON but not an object.", permanent=False, raw=text, reason="unparseable"
        )
    missing = [key for key in schema.json_schema.get("required", []) if key not in data]
    if missing:
        raise TeacherError(
            f"The teacher's reply lacks the required field(s): {', '.join(missing)}.",
            permanent=False,
            raw=text,
            reason="unparseable",
        )
    return data


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), None if absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def reason_for_status(status: int) -> str:
    if status == 429:
        return "rate_limited"
    if status in (503, 529):
        return "overloaded"
    if status >= 500:
        return "server_error"
    if status == 408:
        return "timeout"
    return "rejected"


# Provider batch APIs (OpenAI Batch, Anthropic Message Batches): see synth/batches.py ---------------


@dataclass(frozen=True)
class BatchRequest:
    """One call sent inside a provider batch; `custom_id` names it there, stable across resubmissions."""

    custom_id: str
    messages: list[Message]
    schema: Schema | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None


@dataclass(frozen=True)
class BatchState:
    """What the provider says about a batch: whether it ended, in its own words, and its counts."""

    ended: bool
    status: str
    counts: dict[str, int] = field(default_factory=dict)
    error: str = ""  # why the batch as a whole failed (e.g. its input was refused), if it did


@dataclass
class BatchResult:
    """The outcome of one batch request: a completion parsed as a live call's would be, or an error."""

    custom_id: str
    completion: Completion | None = None
    error: TeacherError | None = None


class BatchingTeacher(Protocol):
    """The providers that have a batch API implement this besides `complete`."""

    provider: str
    model: str

    def submit_batch(
        self, requests: list[BatchRequest], *, label: str, file_id: str, remember_file, retry: bool
    ) -> str: ...

    def batch_state(self, batch_id: str) -> BatchState: ...

    def batch_results(self, batch_id: str, schemas: dict[str, Schema | None]): ...

    def cancel_batch(self, batch_id: str) -> None: ...
