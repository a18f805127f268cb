"""Teacher provider for Anthropic's Messages API; structured replies come back as a forced tool call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.views.decorators.debug import sensitive_variables

from synth.teachers.base import (
    BatchRequest,
    BatchResult,
    BatchState,
    Completion,
    Schema,
    TeacherError,
    Usage,
    parse_json_reply,
)
from synth.teachers.endpoint import UnsafeEndpoint, check_endpoint
from synth.teachers.sdk_provider import CUT_OFF_MESSAGE, STATUS_HINTS, SdkTeacher, no_reply

if TYPE_CHECKING:
    from anthropic import APIStatusError
    from anthropic.types import Message as AnthropicMessage
    from anthropic.types.messages import MessageBatchIndividualResponse

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


class AnthropicTeacher(SdkTeacher):
    provider = "anthropic"
    label = "Anthropic"
    order = 30
    batch_api = True
    sdk_name, client_name = "anthropic", "Anthropic"
    status_hints = {**STATUS_HINTS, 529: "the server is overloaded"}

    def _request(self, request: BatchRequest) -> dict[str, Any]:
        arguments = self._params(request)  # the Messages API has no sampling seed
        # anthropic 2.x dropped temperature from create()'s arguments; the API still takes it.
        arguments["extra_body"] = {"temperature": self._temperature(request)}
        return arguments

    def _params(self, request: BatchRequest) -> dict[str, Any]:
        """The request's parameters, the same for a live call and a batch request (but temperature)."""
        messages = request.messages
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        params: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": m["role"], "content": m["content"]} for m in messages if m["role"] != "system"
            ],
            "max_tokens": self.max_tokens if request.max_tokens is None else request.max_tokens,
        }
        if system:
            params["system"] = system
        if request.schema is not None:
            params["tools"] = [{"name": request.schema.name, "input_schema": request.schema.json_schema}]
            params["tool_choice"] = {"type": "tool", "name": request.schema.name}
        return params

    def _temperature(self, request: BatchRequest) -> float:
        return self.temperature if request.temperature is None else request.temperature

    def _send(self, arguments: dict[str, Any]) -> Any:
        return self._client.messages.create(**arguments)

    def _is_reply(self, response: Any) -> bool:
        return isinstance(response, self.sdk.types.Message)

    # Message Batches --------------------------------------------------------------------------------

    def _submit(self, requests: list[BatchRequest], **_: Any) -> str:
        """Create the batch; its id. (Message Batches take the requests inline: no file, no metadata.)"""
        batch_requests = [
            {
                "custom_id": request.custom_id,
                "params": {**self._params(request), "temperature": self._temperature(request)},
            }
            for request in requests
        ]
        return self._client.messages.batches.create(requests=batch_requests).id

    @sensitive_variables()
    def batch_state(self, batch_id: str) -> BatchState:
        batch = self._call(self._client.messages.batches.retrieve, batch_id)
        return BatchState(
            ended=batch.processing_status == "ended",
            status=batch.processing_status,
            counts=batch.request_counts.model_dump(),
        )

    def batch_results(self, batch_id: str, schemas: dict[str, Schema | None]) -> Iterator[BatchResult]:
        for line in self._call(self._result_lines, batch_id):
            yield self._batch_result(line, schemas)

    def _result_lines(self, batch_id: str) -> list[MessageBatchIndividualResponse]:
        batch = self._client.messages.batches.retrieve(batch_id)
        # The results live at a URL the server names: checked like a base URL before it is fetched.
        if batch.results_url and urlsplit(batch.results_url).scheme:
            try:
                check_endpoint(batch.results_url)
            except UnsafeEndpoint as unsafe:
                raise TeacherError(
                    f"The batch's results URL cannot be fetched: {unsafe}", permanent=True
                ) from None
        return list(self._client.messages.batches.results(batch_id))

    def _batch_result(
        self, line: MessageBatchIndividualResponse, schemas: dict[str, Schema | None]
    ) -> BatchResult:
        result, outcome = BatchResult(line.custom_id), line.result
        if outcome.type == "succeeded":
            try:
                result.completion = self._answer(
                    outcome.message, schema=schemas.get(line.custom_id), latency_ms=0
                )
            except TeacherError as unusable:
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
        self._call(self._client.messages.batches.cancel, batch_id)

    # Replies --------------------------------------------------------------------------------------

    def _completion(
        self, response: AnthropicMessage, *, schema: Schema | None, latency_ms: int
    ) -> Completion:
        if not response.content and response.stop_reason is None:
            raise no_reply()
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
            raise TeacherError(CUT_OFF_MESSAGE, permanent=False, reason="cut_off", raw=prose)
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
        return self._reply(response, text=text, data=data, latency_ms=latency_ms)

    def _usage(self, response: AnthropicMessage) -> Usage:
        return Usage(
            input_tokens=response.usage.input_tokens if response.usage else 0,
            output_tokens=response.usage.output_tokens if response.usage else 0,
        )

    def _error_detail(self, error: APIStatusError) -> str | None:
        return error.api_message
