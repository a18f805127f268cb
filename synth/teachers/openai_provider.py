"""Teacher provider for OpenAI's Chat Completions API and the servers that copy it (vLLM, Ollama)."""

from __future__ import annotations

import json
import time
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from synth.teachers.base import (
    Completion,
    Message,
    Schema,
    TeacherError,
    Usage,
    parse_json_reply,
    reason_for_status,
    retry_after_seconds,
)
from synth.teachers.endpoint import REDIRECT_HINTS

# The SDK retries these itself when allowed to; ours is the only retry layer, so they are the
# errors it may retry. Every other 4xx means the request or the account needs fixing first.
TEMPORARY_STATUSES = frozenset({408, 409, 429})

STATUS_HINTS = {
    **REDIRECT_HINTS,
    400: "the server rejected the request",
    401: "the API key was not accepted",
    403: "the API key may not use this model",
    404: "check the model name and the base URL",
    408: "the server timed out",
    429: "the server is rate limiting requests",
}


class OpenAITeacher:
    provider = "openai"

    def __init__(
        self,
        *,
        model: str,
        api_key: str,
        base_url: str | None = None,
        temperature: float = 0.7,
        max_tokens: int = 1024,
        timeout: float = 60.0,
    ) -> None:
        self.model = model
        self.base_url = base_url
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout = timeout
        self._api_key = api_key
        # max_retries=0: retries belong to our own layer, which knows about budgets and backoff.
        self._client = openai.OpenAI(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=timeout,
            http_client=openai.DefaultHttpxClient(follow_redirects=False),  # see synth/teachers/endpoint.py
        )

    def __repr__(self) -> str:
        return f"OpenAITeacher(model={self.model!r}, base_url={self.base_url!r})"

    def complete(
        self,
        messages: list[Message],
        *,
        schema: Schema | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
    ) -> Completion:
        arguments: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature if temperature is None else temperature,
            "max_tokens": self.max_tokens if max_tokens is None else max_tokens,
        }
        if seed is not None:
            arguments["seed"] = seed  # best effort on OpenAI; vLLM honours it
        if schema is not None:
            arguments["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema.name, "schema": schema.json_schema},
            }
        started = time.monotonic()
        try:
            response = self._client.chat.completions.create(**arguments)
        except openai.APIError as exc:
            error = self._error_for(exc)
        except json.JSONDecodeError:
            error = TeacherError(
                "The teacher's response is not JSON; check the base URL.",
                permanent=False,
                reason="unparseable",
            )
        else:
            latency_ms = round(1000 * (time.monotonic() - started))
            try:
                return self._completion(response, schema=schema, latency_ms=latency_ms)
            except TeacherError as unusable:
                # The reply was billed even though it cannot be used: keep its tokens for the record.
                unusable.usage = self._usage(response)
                unusable.latency_ms = latency_ms
                raise
        # Raised outside the except block so the SDK's exception, whose request still carries the API
        # key in its headers, does not travel along as __context__.
        raise error

    def _completion(self, response: ChatCompletion, *, schema: Schema | None, latency_ms: int) -> Completion:
        if not response.choices:
            raise TeacherError(
                "The teacher's response holds no reply.", permanent=False, reason="unparseable"
            )
        choice = response.choices[0]
        text = choice.message.content or ""
        if choice.message.refusal:
            raise TeacherError(
                f"The teacher refused to answer: {choice.message.refusal}",
                permanent=True,
                reason="refusal",
                raw=choice.message.refusal,
            )
        if choice.finish_reason == "length":
            raise TeacherError(
                "The teacher's reply was cut off at the token limit; raise max_tokens or ask for less.",
                permanent=False,
                reason="cut_off",
                raw=text,
            )
        if choice.finish_reason == "content_filter":
            raise TeacherError(
                "The server's content filter withheld the teacher's reply.",
                permanent=True,
                reason="content_filter",
                raw=text,
            )
        return Completion(
            text=text,
            provider=self.provider,
            model=self.model,
            data=parse_json_reply(text, schema) if schema is not None else None,
            usage=self._usage(response),
            raw=response.model_dump(mode="json"),
            latency_ms=latency_ms,
        )

    @staticmethod
    def _usage(response: ChatCompletion) -> Usage:
        usage = response.usage
        return Usage(
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
        )

    def _error_for(self, exc: openai.APIError) -> TeacherError:
        if isinstance(exc, openai.APITimeoutError):
            return TeacherError(
                f"The teacher did not answer within {self.timeout:g} s.", permanent=False, reason="timeout"
            )
        if isinstance(exc, openai.APIConnectionError):
            return TeacherError(
                f"Could not connect to the teacher at {self._client.base_url}.",
                permanent=False,
                reason="connection",
            )
        if not isinstance(exc, openai.APIStatusError):
            return TeacherError(
                self._redact(f"The teacher's response was unusable: {exc.message}"),
                permanent=False,
                reason="unparseable",
            )
        status = exc.status_code
        # vLLM and OpenAI both put a "message" in the error object; other bodies stay in raw only.
        detail = exc.body.get("message") if isinstance(exc.body, dict) else None
        message = f"The teacher answered HTTP {status}"
        if hint := STATUS_HINTS.get(status):
            message += f" ({hint})"
        if isinstance(detail, str) and detail:
            message += f": {detail.rstrip('.')}"
        message += "."
        if retry_after := exc.response.headers.get("retry-after"):
            message += f" Retry-After: {retry_after}."
        return TeacherError(
            self._redact(message),
            permanent=status < 500 and status not in TEMPORARY_STATUSES,
            raw=self._redact(exc.response.text),
            reason=reason_for_status(status),
            retry_after=retry_after_seconds(retry_after),
        )

    def _redact(self, text: str) -> str:
        # Some servers echo the key they rejected. Very short keys are placeholders (Ollama ignores the
        # key), and replacing them would garble ordinary words.
        if len(self._api_key) >= 8:
            return text.replace(self._api_key, "[redacted]")
        return text
