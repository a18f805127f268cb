"""Teacher provider for Anthropic's Messages API; structured replies come back as a forced tool call."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import anthropic
from anthropic.types import Message as AnthropicMessage
from anthropic.types.messages import MessageBatchIndividualResponse
from django.views.decorators.debug import sensitive_variables

from synth.teachers.base import (
    BatchRequest,
    BatchResult,
    BatchState,
    Completion,
    Message,
    Schema,
    TeacherError,
    Usage,
    parse_json_reply,
    reason_for_status,
    retry_after_seconds,
)
from synth.teachers.endpoint import (
    REDIRECT_HINTS,
    UnsafeEndpoint,
    check_endpoint,
    checked_transport,
    unsafe_cause,
)
from synth.teachers.redact import redact_key, redact_key_in

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
    529: "the server is overloaded",
}

# An errored batch request's error type, as the reason its call is recorded with.
ERROR_REASONS = {
    "invalid_request_error": "rejected",
    "authentication_error": "rejected",
    "permission_error": "rejected",
    "not_found_error": "rejected",
    "request_too_large": "rejected",
    "rate_limit_error": "rate_limited",
    "overloaded_error": "overloaded",
    "api_error": "server_error",
}

CUT_OFF_REASONS = frozenset({"max_tokens", "model_context_window_exceeded"})


class AnthropicTeacher:
    provider = "anthropic"

    @sensitive_variables()  # holds the key: no debug page may show this frame's variables
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
        self._client = anthropic.Anthropic(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=timeout,
            # Redirects are not followed, and every connection goes to an address checked for it.
            http_client=anthropic.DefaultHttpxClient(follow_redirects=False, transport=checked_transport()),
        )

    def __repr__(self) -> str:
        return f"AnthropicTeacher(model={self.model!r}, base_url={self.base_url!r})"

    @sensitive_variables()
    def complete(
        self,
        messages: list[Message],
        *,
        schema: Schema | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
    ) -> Completion:
        del seed  # the Messages API has no sampling seed
        arguments = self._params(messages, schema=schema, max_tokens=max_tokens)
        # anthropic 2.x dropped temperature from create()'s arguments; the API still takes it.
        arguments["extra_body"] = {"temperature": self.temperature if temperature is None else temperature}
        started = time.monotonic()
        try:
            response = self._client.messages.create(**arguments)
        except (anthropic.APIError, UnsafeEndpoint) as exc:
            error = self._error_for(exc)
        except json.JSONDecodeError:
            error = TeacherError(
                "The teacher's response is not JSON; check the base URL.",
                permanent=False,
                reason="unparseable",
            )
        else:
            latency_ms = round(1000 * (time.monotonic() - started))
            # e.g. an empty or plain-text 200 from a server that is not the teacher's API
            if not isinstance(response, AnthropicMessage):
                raise TeacherError(
                    "The teacher's response is not a reply of its API; check the base URL.",
                    permanent=False,
                    reason="unparseable",
                )
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

    def _params(
        self, messages: list[Message], *, schema: Schema | None, max_tokens: int | None
    ) -> dict[str, Any]:
        """The request's parameters, the same for a live call and a batch request (but temperature)."""
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        params: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": m["role"], "content": m["content"]} for m in messages if m["role"] != "system"
            ],
            "max_tokens": self.max_tokens if max_tokens is None else max_tokens,
        }
        if system:
            params["system"] = system
        if schema is not None:
            params["tools"] = [{"name": schema.name, "input_schema": schema.json_schema}]
            params["tool_choice"] = {"type": "tool", "name": schema.name}
        return params

    # Message Batches --------------------------------------------------------------------------------

    @sensitive_variables()
    def submit_batch(
        self,
        requests: list[BatchRequest],
        *,
        label: str,
        file_id: str = "",
        remember_file: Callable[[str], None] = lambda file_id: None,
        retry: bool = False,
    ) -> str:
        """Create the batch; its id. (Message Batches take the requests inline: no file, no metadata.)"""
        del label, file_id, remember_file, retry
        batch_requests = []
        for request in requests:
            params = self._params(request.messages, schema=request.schema, max_tokens=request.max_tokens)
            params["temperature"] = self.temperature if request.temperature is None else request.temperature
            batch_requests.append({"custom_id": request.custom_id, "params": params})
        try:
            return self._client.messages.batches.create(requests=batch_requests).id
        except (anthropic.APIError, UnsafeEndpoint) as exc:
            error = self._error_for(exc)
        raise error

    @sensitive_variables()
    def batch_state(self, batch_id: str) -> BatchState:
        try:
            batch = self._client.messages.batches.retrieve(batch_id)
        except (anthropic.APIError, UnsafeEndpoint) as exc:
            error = self._error_for(exc)
        else:
            return BatchState(
                ended=batch.processing_status == "ended",
                status=batch.processing_status,
                counts=batch.request_counts.model_dump(),
            )
        raise error

    def batch_results(self, batch_id: str, schemas: dict[str, Schema | None]) -> Iterator[BatchResult]:
        try:
            batch = self._client.messages.batches.retrieve(batch_id)
            # The results live at a URL the server names: checked like a base URL before it is fetched.
            if batch.results_url and urlsplit(batch.results_url).scheme:
                try:
                    check_endpoint(batch.results_url)
                except UnsafeEndpoint as unsafe:
                    raise TeacherError(
                        f"The batch's results URL cannot be fetched: {unsafe}", permanent=True
                    ) from None
            lines = list(self._client.messages.batches.results(batch_id))
        except (anthropic.APIError, UnsafeEndpoint) as exc:
            error = self._error_for(exc)
        else:
            for line in lines:
                yield self._batch_result(line, schemas)
            return
        raise error

    def _batch_result(
        self, line: MessageBatchIndividualResponse, schemas: dict[str, Schema | None]
    ) -> BatchResult:
        result, outcome = BatchResult(line.custom_id), line.result
        if outcome.type == "succeeded":
            try:
                result.completion = self._completion(
                    outcome.message, schema=schemas.get(line.custom_id), latency_ms=0
                )
            except TeacherError as unusable:
                unusable.usage = self._usage(outcome.message)
                result.error = unusable
        elif outcome.type == "errored":
            detail = outcome.error.error
            result.error = TeacherError(
                self._redact(
                    f"The teacher could not answer this request of the batch ({detail.type}): "
                    f"{detail.message.rstrip('.')}."
                ),
                permanent=True,
                reason=ERROR_REASONS.get(detail.type, "batch_error"),
            )
        elif outcome.type == "expired":
            result.error = TeacherError(
                "The request expired before the teacher answered it (a batch ends after 24 hours).",
                permanent=True,
                reason="expired",
            )
        else:
            result.error = TeacherError(
                "The request was cancelled with its batch.", permanent=True, reason="cancelled"
            )
        return result

    @sensitive_variables()
    def cancel_batch(self, batch_id: str) -> None:
        try:
            self._client.messages.batches.cancel(batch_id)
        except (anthropic.APIError, UnsafeEndpoint) as exc:
            error = self._error_for(exc)
        else:
            return
        raise error

    def _completion(
        self, response: AnthropicMessage, *, schema: Schema | None, latency_ms: int
    ) -> Completion:
        if not response.content and response.stop_reason is None:
            raise TeacherError(
                "The teacher's response holds no reply.", permanent=False, reason="unparseable"
            )
        blocks = response.content or []
        # A reply that echoes the key is stored (and parsed) without it.
        prose = self._redact("".join(block.text for block in blocks if block.type == "text"))
        if response.stop_reason == "refusal":
            details = response.stop_details
            reason = self._redact(details.explanation or details.category or "") if details else None
            raise TeacherError(
                "The teacher refused to answer" + (f": {reason.rstrip('.')}." if reason else "."),
                permanent=True,
                reason="refusal",
                raw=prose,
            )
        if response.stop_reason in CUT_OFF_REASONS:
            raise TeacherError(
                "The teacher's reply was cut off at the token limit; raise max_tokens or ask for less.",
                permanent=False,
                reason="cut_off",
                raw=prose,
            )
        text, data = prose, None
        if schema is not None:
            tool_input = next(
                (block.input for block in blocks if block.type == "tool_use" and block.name == schema.name),
                None,
            )
            if tool_input is None:
                raise TeacherError(
                    "The teacher answered in prose instead of filling in the requested structure.",
                    permanent=False,
                    reason="unparseable",
                    raw=prose,
                )
            text = self._redact(json.dumps(tool_input, ensure_ascii=False))
            data = parse_json_reply(text, schema)
        return Completion(
            text=text,
            provider=self.provider,
            model=self.model,
            data=data,
            usage=self._usage(response),
            raw=redact_key_in(response.model_dump(mode="json"), self._api_key),
            latency_ms=latency_ms,
        )

    @staticmethod
    def _usage(response: AnthropicMessage) -> Usage:
        return Usage(
            input_tokens=response.usage.input_tokens if response.usage else 0,
            output_tokens=response.usage.output_tokens if response.usage else 0,
        )

    def _error_for(self, exc: anthropic.APIError | UnsafeEndpoint) -> TeacherError:
        if unsafe := unsafe_cause(exc):  # the address the host resolved to for this connection
            return TeacherError(
                f"The teacher was not called: {unsafe}", permanent=True, reason="unsafe_endpoint"
            )
        if isinstance(exc, anthropic.APITimeoutError):
            return TeacherError(
                f"The teacher did not answer within {self.timeout:g} s.", permanent=False, reason="timeout"
            )
        if isinstance(exc, anthropic.APIConnectionError):
            return TeacherError(
                f"Could not connect to the teacher at {self._client.base_url}.",
                permanent=False,
                reason="connection",
            )
        if not isinstance(exc, anthropic.APIStatusError):
            return TeacherError(
                self._redact(f"The teacher's response was unusable: {exc.message}"),
                permanent=False,
                reason="unparseable",
            )
        status = exc.status_code
        message = f"The teacher answered HTTP {status}"
        if hint := STATUS_HINTS.get(status):
            message += f" ({hint})"
        if exc.api_message:
            message += f": {exc.api_message.rstrip('.')}"
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
        return redact_key(text, self._api_key)
