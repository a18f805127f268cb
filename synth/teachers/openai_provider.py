"""Teacher provider for OpenAI's Chat Completions API and the servers that copy it (vLLM, Ollama)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import openai
from django.views.decorators.debug import sensitive_variables
from openai.types.chat import ChatCompletion

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
from synth.teachers.endpoint import REDIRECT_HINTS, UnsafeEndpoint, checked_transport, unsafe_cause
from synth.teachers.redact import redact_key, redact_key_in

# The SDK retries these itself when allowed to; ours is the only retry layer, so they are the
# errors it may retry. Every other 4xx means the request or the account needs fixing first.
TEMPORARY_STATUSES = frozenset({408, 409, 429})

# A batch in one of these states will not change any more; its results can be collected.
OPENAI_ENDED = frozenset({"completed", "failed", "expired", "cancelled"})
BATCH_LABEL = "studio_batch"  # the metadata key naming our batch, for finding it again

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
        self._client = openai.OpenAI(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=timeout,
            # Redirects are not followed, and every connection goes to an address checked for it.
            http_client=openai.DefaultHttpxClient(follow_redirects=False, transport=checked_transport()),
        )

    def __repr__(self) -> str:
        return f"OpenAITeacher(model={self.model!r}, base_url={self.base_url!r})"

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
        arguments = self._arguments(
            messages, schema=schema, temperature=temperature, max_tokens=max_tokens, seed=seed
        )
        started = time.monotonic()
        try:
            response = self._client.chat.completions.create(**arguments)
        except (openai.APIError, UnsafeEndpoint) as exc:
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
            if not isinstance(response, ChatCompletion):
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

    def _arguments(
        self,
        messages: list[Message],
        *,
        schema: Schema | None,
        temperature: float | None,
        max_tokens: int | None,
        seed: int | None,
    ) -> dict[str, Any]:
        """The request body, the same for a live call and a batch line."""
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
        return arguments

    # The Batch API: a JSONL file of requests, uploaded, then a batch made of it ---------------------

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
        """Upload the requests (unless `file_id` says they were) and create the batch; its id.

        `label` goes into the batch's metadata: a retried submission first looks for a batch with it,
        so a worker that died between creating the batch and saving its id does not pay twice."""
        try:
            if retry and (found := self._batch_labelled(label)):
                return found
            if not file_id:
                lines = [
                    {
                        "custom_id": request.custom_id,
                        "method": "POST",
                        "url": "/v1/chat/completions",
                        "body": self._arguments(
                            request.messages,
                            schema=request.schema,
                            temperature=request.temperature,
                            max_tokens=request.max_tokens,
                            seed=request.seed,
                        ),
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
        except (openai.APIError, UnsafeEndpoint) as exc:
            error = self._error_for(exc)
        raise error

    def _batch_labelled(self, label: str) -> str | None:
        for batch in self._client.batches.list(limit=100):
            if (batch.metadata or {}).get(BATCH_LABEL) == label:
                return batch.id
        return None

    @sensitive_variables()
    def batch_state(self, batch_id: str) -> BatchState:
        try:
            batch = self._client.batches.retrieve(batch_id)
        except (openai.APIError, UnsafeEndpoint) as exc:
            error = self._error_for(exc)
        else:
            counts = batch.request_counts.model_dump() if batch.request_counts else {}
            problem = ""
            if batch.status == "failed" and batch.errors and batch.errors.data:
                problem = "; ".join(
                    f"{e.message}" + (f" (line {e.line})" if e.line else "") for e in batch.errors.data
                )
            return BatchState(
                ended=batch.status in OPENAI_ENDED, status=batch.status, counts=counts, error=problem
            )
        raise error

    def batch_results(self, batch_id: str, schemas: dict[str, Schema | None]) -> Iterator[BatchResult]:
        """Each request's result, from the output file (answers) and the error file (the rest)."""
        try:
            batch = self._client.batches.retrieve(batch_id)
            files = [f for f in (batch.output_file_id, batch.error_file_id) if f]
            contents = [self._client.files.content(file).text for file in files]
        except (openai.APIError, UnsafeEndpoint) as exc:
            error = self._error_for(exc)
        else:
            for content in contents:
                for line in content.splitlines():
                    if line.strip():
                        yield self._batch_result(json.loads(line), schemas)
            return
        raise error

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
            completion = ChatCompletion.model_validate(body)
        except ValueError:
            result.error = TeacherError(
                "The batch's reply is not a chat completion.",
                permanent=True,
                reason="unparseable",
                raw=self._redact(json.dumps(body)),
            )
            return result
        try:
            result.completion = self._completion(completion, schema=schemas.get(custom_id), latency_ms=0)
        except TeacherError as unusable:
            unusable.usage = self._usage(completion)
            result.error = unusable
        return result

    @sensitive_variables()
    def cancel_batch(self, batch_id: str) -> None:
        try:
            self._client.batches.cancel(batch_id)
        except (openai.APIError, UnsafeEndpoint) as exc:
            error = self._error_for(exc)
        else:
            return
        raise error

    def _completion(self, response: ChatCompletion, *, schema: Schema | None, latency_ms: int) -> Completion:
        if not response.choices:
            raise TeacherError(
                "The teacher's response holds no reply.", permanent=False, reason="unparseable"
            )
        choice = response.choices[0]
        # A reply that echoes the key is stored (and parsed) without it.
        text = self._redact(choice.message.content or "")
        if choice.message.refusal:
            refusal = self._redact(choice.message.refusal)
            raise TeacherError(
                f"The teacher refused to answer: {refusal}", permanent=True, reason="refusal", raw=refusal
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
            raw=redact_key_in(response.model_dump(mode="json"), self._api_key),
            latency_ms=latency_ms,
        )

    @staticmethod
    def _usage(response: ChatCompletion) -> Usage:
        usage = response.usage
        return Usage(
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
        )

    def _error_for(self, exc: openai.APIError | UnsafeEndpoint) -> TeacherError:
        if unsafe := unsafe_cause(exc):  # the address the host resolved to for this connection
            return TeacherError(
                f"The teacher was not called: {unsafe}", permanent=True, reason="unsafe_endpoint"
            )
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
        return redact_key(text, self._api_key)
