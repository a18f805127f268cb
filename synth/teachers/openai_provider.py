"""Teacher provider for OpenAI's Chat Completions API and the servers that copy it (vLLM, Ollama)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

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
    reason_for_status,
)
from synth.teachers.sdk_provider import CUT_OFF_MESSAGE, SdkTeacher, no_reply

if TYPE_CHECKING:
    from openai import APIStatusError
    from openai.types.chat import ChatCompletion

# A batch in one of these states will not change any more; its results can be collected.
OPENAI_ENDED = frozenset({"completed", "failed", "expired", "cancelled"})
BATCH_LABEL = "studio_batch"  # the metadata key naming our batch, for finding it again


class OpenAITeacher(SdkTeacher):
    provider = "openai"
    label = "OpenAI or OpenAI-compatible"
    order = 20
    batch_api = True
    sdk_name, client_name = "openai", "OpenAI"

    def _request(self, request: BatchRequest) -> dict[str, Any]:
        """The request body, the same for a live call and a batch line."""
        arguments: dict[str, Any] = {
            "model": self.model,
            "messages": request.messages,
            "temperature": self.temperature if request.temperature is None else request.temperature,
            "max_tokens": self.max_tokens if request.max_tokens is None else request.max_tokens,
        }
        if request.seed is not None:
            arguments["seed"] = request.seed  # best effort on OpenAI; vLLM honours it
        if request.schema is not None:
            arguments["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": request.schema.name, "schema": request.schema.json_schema},
            }
        return arguments

    def _send(self, arguments: dict[str, Any]) -> Any:
        return self._client.chat.completions.create(**arguments)

    def _is_reply(self, response: Any) -> bool:
        return isinstance(response, self.sdk.types.chat.ChatCompletion)

    # The Batch API: a JSONL file of requests, uploaded, then a batch made of it ---------------------

    @sensitive_variables()
    def _submit(
        self,
        requests: list[BatchRequest],
        *,
        label: str,
        file_id: str,
        remember_file: Callable[[str], None],
        retry: bool,
    ) -> str:
        """Upload the requests (unless `file_id` says they were) and create the batch; its id.

        `label` goes into the batch's metadata: a retried submission first looks for a batch with it,
        so a worker that died between creating the batch and saving its id does not pay twice."""
        if retry and (found := self._batch_labelled(label)):
            return found
        if not file_id:
            lines = [
                {
                    "custom_id": request.custom_id,
                    "method": "POST",
                    "url": "/v1/chat/completions",
                    "body": self._request(request),
                }
                for request in requests
            ]
            content = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
            uploaded = self._client.files.create(
                file=(f"{label}.jsonl", content.encode(), "application/jsonl"), purpose="batch"
            )
            file_id = uploaded.id
            remember_file(file_id)
        batch = self._client.batches.create(
            input_file_id=file_id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            metadata={BATCH_LABEL: label},
        )
        return batch.id

    def _batch_labelled(self, label: str) -> str | None:
        for batch in self._client.batches.list(limit=100):
            if (batch.metadata or {}).get(BATCH_LABEL) == label:
                return batch.id
        return None

    @sensitive_variables()
    def batch_state(self, batch_id: str) -> BatchState:
        batch = self._call(self._client.batches.retrieve, batch_id)
        counts = batch.request_counts.model_dump() if batch.request_counts else {}
        problem = ""
        if batch.status == "failed" and batch.errors and batch.errors.data:
            problem = "; ".join(
                f"{e.message}" + (f" (line {e.line})" if e.line else "") for e in batch.errors.data
            )
        return BatchState(
            ended=batch.status in OPENAI_ENDED, status=batch.status, counts=counts, error=problem
        )

    def batch_results(self, batch_id: str, schemas: dict[str, Schema | None]) -> Iterator[BatchResult]:
        """Each request's result, from the output file (answers) and the error file (the rest)."""
        for content in self._call(self._result_files, batch_id):
            for line in content.splitlines():
                if line.strip():
                    yield self._batch_result(json.loads(line), schemas)

    def _result_files(self, batch_id: str) -> list[str]:
        batch = self._client.batches.retrieve(batch_id)
        files = [f for f in (batch.output_file_id, batch.error_file_id) if f]
        return [self._client.files.content(file).text for file in files]

    def _batch_result(self, line: dict[str, Any], schemas: dict[str, Schema | None]) -> BatchResult:
        custom_id = str(line.get("custom_id", ""))
        result = BatchResult(custom_id)
        response = line.get("response") or {}
        problem = line.get("error")
        if problem:
            code = problem.get("code") or ""
            result.error = TeacherError(
                self._redact(
                    f"The batch request failed ({code or 'error'}): {problem.get('message') or 'no reason given'}"
                ),
                permanent=True,
                reason="expired" if code == "batch_expired" else "batch_error",
            )
            return result
        status = int(response.get("status_code") or 0)
        body = response.get("body") or {}
        if status != 200:
            detail = (body.get("error") or {}).get("message") if isinstance(body, dict) else None
            result.error = TeacherError(
                self._redact(
                    f"The teacher answered HTTP {status} inside the batch"
                    + (f": {detail.rstrip('.')}." if detail else ".")
                ),
                permanent=True,
                reason=reason_for_status(status) if status else "batch_error",
                raw=self._redact(json.dumps(body)),
            )
            return result
        try:
            completion = self.sdk.types.chat.ChatCompletion.model_validate(body)
        except ValueError:
            result.error = TeacherError(
                "The batch's reply is not a chat completion.",
                permanent=True,
                reason="unparseable",
                raw=self._redact(json.dumps(body)),
            )
            return result
        try:
            result.completion = self._answer(completion, schema=schemas.get(custom_id), latency_ms=0)
        except TeacherError as unusable:
            result.error = unusable
        return result

    @sensitive_variables()
    def cancel_batch(self, batch_id: str) -> None:
        self._call(self._client.batches.cancel, batch_id)

    # Replies --------------------------------------------------------------------------------------

    def _completion(self, response: ChatCompletion, *, schema: Schema | None, latency_ms: int) -> Completion:
        if not response.choices:
            raise no_reply()
        choice = response.choices[0]
        # A reply that echoes the key is stored (and parsed) without it.
        text = self._redact(choice.message.content or "")
        if choice.message.refusal:
            refusal = self._redact(choice.message.refusal)
            raise TeacherError(
                f"The teacher refused to answer: {refusal}", permanent=True, reason="refusal", raw=refusal
            )
        if choice.finish_reason == "length":
            raise TeacherError(CUT_OFF_MESSAGE, permanent=False, reason="cut_off", raw=text)
        if choice.finish_reason == "content_filter":
            raise TeacherError(
                "The server's content filter withheld the teacher's reply.",
                permanent=True,
                reason="content_filter",
                raw=text,
            )
        data = parse_json_reply(text, schema) if schema is not None else None
        return self._reply(response, text=text, data=data, latency_ms=latency_ms)

    def _usage(self, response: ChatCompletion) -> Usage:
        usage = response.usage
        return Usage(
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
        )

    def _error_detail(self, error: APIStatusError) -> str | None:
        # vLLM and OpenAI both put a "message" in the error object; other bodies stay in raw only.
        detail = error.body.get("message") if isinstance(error.body, dict) else None
        return detail if isinstance(detail, str) else None
