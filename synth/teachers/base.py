"""The one interface every teacher provider implements, and its result and error types."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol


class TeacherError(Exception):
    """A teacher call failed. Only non-permanent errors are worth retrying."""

    def __init__(self, message: str, *, permanent: bool, raw: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.raw = raw  # whatever the provider sent back, kept for inspection


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
        ) from exc
    if not isinstance(data, dict):
        raise TeacherError("The teacher's reply is JSON but not an object.", permanent=False, raw=text)
    missing = [key for key in schema.json_schema.get("required", []) if key not in data]
    if missing:
        raise TeacherError(
            f"The teacher's reply lacks the required field(s): {', '.join(missing)}.",
            permanent=False,
            raw=text,
        )
    return data
