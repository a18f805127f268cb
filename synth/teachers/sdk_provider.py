"""What the providers built on a vendor SDK (OpenAI, Anthropic) share: key, client, call, errors, redaction.

Each provider module keeps what differs: the request it sends, how it reads a reply, its batch API.
The SDK is imported when the first client is built, not with the module: the registry imports every
provider module (synth/teachers/__init__.py), and an SDK takes seconds to import.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from synth.teachers.base import (
    BatchRequest,
    Completion,
    Message,
    Schema,
    TeacherError,
    TeacherProvider,
    Usage,
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

if TYPE_CHECKING:
    from synth.models import Teacher

# The SDKs retry these themselves when allowed to; ours is the only retry layer, so they are the
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

CUT_OFF_MESSAGE = "The teacher's reply was cut off at the token limit; raise max_tokens or ask for less."


@sensitive_variables()  # holds the key: no debug page may show this frame's variables
def api_key_for(teacher: Teacher) -> str:
    """The teacher's key, from the environment (settings) only: a Teacher row names its variable."""
    key = settings.TEACHER_API_KEYS.get(teacher.api_key_env) if teacher.api_key_env else None
    if not key:
        raise TeacherError(
            f"Teacher '{teacher.name}' needs an API key: set the environment variable "
            f"{teacher.api_key_env or '<NAME>_API_KEY'} for the web server and the workers.",
            permanent=True,
        )
    return key


def check_base_url(teacher: Teacher) -> None:
    """Checked on every use, not only when saved: what a host name resolves to can change."""
    if teacher.base_url:
        try:
            check_endpoint(teacher.base_url)
        except UnsafeEndpoint as error:
            raise TeacherError(
                f"Teacher '{teacher.name}': {error}", permanent=True, reason="unsafe_endpoint"
            ) from None


def no_reply() -> TeacherError:
    return TeacherError("The teacher's response holds no reply.", permanent=False, reason="unparseable")


class SdkTeacher(TeacherProvider):
    """A teacher reached through its vendor's SDK, over the SSRF-checked transport, with no SDK retries."""

    sdk_name: ClassVar[str]  # the SDK's package, e.g. "openai"
    client_name: ClassVar[str]  # its client class, e.g. "OpenAI"
    status_hints: ClassVar[dict[int, str]] = STATUS_HINTS

    @classmethod
    @sensitive_variables()
    def for_teacher(cls, teacher: Teacher) -> SdkTeacher:
        check_base_url(teacher)
        return cls(
            model=teacher.model,
            api_key=api_key_for(teacher),
            base_url=teacher.base_url or None,
            temperature=teacher.temperature,
            max_tokens=teacher.max_tokens,
            timeout=teacher.timeout_seconds,
        )

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
        self.sdk: ModuleType = importlib.import_module(self.sdk_name)
        # max_retries=0: retries belong to our own layer, which knows about budgets and backoff.
        self._client = getattr(self.sdk, self.client_name)(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=timeout,
            # Redirects are not followed, and every connection goes to an address checked for it.
            http_client=self.sdk.DefaultHttpxClient(follow_redirects=False, transport=checked_transport()),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r})"

    # What each provider defines ----------------------------------------------------------------------

    def _request(self, request: BatchRequest) -> dict[str, Any]:
        """The live call's arguments for the SDK (a live call is described as a batch request is)."""
        raise NotImplementedError

    def _send(self, arguments: dict[str, Any]) -> Any:
        """Make the live call; the SDK's response."""
        raise NotImplementedError

    def _is_reply(self, response: Any) -> bool:
        """Whether the response is a reply of the API (not, say, a plain-text 200 from another server)."""
        raise NotImplementedError

    def _completion(self, response: Any, *, schema: Schema | None, latency_ms: int) -> Completion:
        """The reply as a Completion, or a TeacherError saying why it cannot be used."""
        raise NotImplementedError

    def _usage(self, response: Any) -> Usage:
        raise NotImplementedError

    def _error_detail(self, error: Any) -> str | None:
        """What the server said about an HTTP error, if it said it where the API puts it."""
        raise NotImplementedError

    def _submit(self, requests: list[BatchRequest], **batch: Any) -> str:
        """Create the batch (`batch_api` providers, with BatchingTeacher's other methods); its id."""
        raise NotImplementedError

    # Shared -----------------------------------------------------------------------------------------

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
        live = BatchRequest(
            custom_id="",
            messages=messages,
            schema=schema,
            temperature=temperature,
            max_tokens=max_tokens,
            seed=seed,
        )
        arguments = self._request(live)
        started = time.monotonic()
        try:
            response = self._send(arguments)
        except (self.sdk.APIError, UnsafeEndpoint) as exc:
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
            if not self._is_reply(response):
                raise TeacherError(
                    "The teacher's response is not a reply of its API; check the base URL.",
                    permanent=False,
                    reason="unparseable",
                )
            return self._answer(response, schema=schema, latency_ms=latency_ms)
        # Raised outside the except block so the SDK's exception, whose request still carries the API
        # key in its headers, does not travel along as __context__.
        raise error

    @sensitive_variables()
    def _call(self, request: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """`request(...)`, a call through the SDK; its failure a TeacherError (raised as `complete` does)."""
        try:
            return request(*args, **kwargs)
        except (self.sdk.APIError, UnsafeEndpoint) as exc:
            error = self._error_for(exc)
        raise error

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
        """Send the requests as one batch of the provider's; the batch's id (see synth/batches.py)."""
        return self._call(
            self._submit, requests, label=label, file_id=file_id, remember_file=remember_file, retry=retry
        )

    def _answer(self, response: Any, *, schema: Schema | None, latency_ms: int) -> Completion:
        """The reply as a Completion; if it is unusable, a TeacherError that carries its tokens."""
        try:
            return self._completion(response, schema=schema, latency_ms=latency_ms)
        except TeacherError as unusable:
            # The reply was billed even though it cannot be used: keep its tokens for the record.
            unusable.usage = self._usage(response)
            unusable.latency_ms = latency_ms
            raise

    def _reply(self, response: Any, *, text: str, data: Any, latency_ms: int) -> Completion:
        """The Completion of a usable reply, the provider's response stored without the key."""
        return Completion(
            text=text,
            provider=self.provider,
            model=self.model,
            data=data,
            usage=self._usage(response),
            raw=redact_key_in(response.model_dump(mode="json"), self._api_key),
            latency_ms=latency_ms,
        )

    def _error_for(self, exc: Exception) -> TeacherError:
        if unsafe := unsafe_cause(exc):  # the address the host resolved to for this connection
            return TeacherError(
                f"The teacher was not called: {unsafe}", permanent=True, reason="unsafe_endpoint"
            )
        if isinstance(exc, self.sdk.APITimeoutError):
            return TeacherError(
                f"The teacher did not answer within {self.timeout:g} s.", permanent=False, reason="timeout"
            )
        if isinstance(exc, self.sdk.APIConnectionError):
            return TeacherError(
                f"Could not connect to the teacher at {self._client.base_url}.",
                permanent=False,
                reason="connection",
            )
        if not isinstance(exc, self.sdk.APIStatusError):
            return TeacherError(
                self._redact(f"The teacher's response was unusable: {exc.message}"),
                permanent=False,
                reason="unparseable",
            )
        status = exc.status_code
        message = f"The teacher answered HTTP {status}"
        if hint := self.status_hints.get(status):
            message += f" ({hint})"
        if detail := self._error_detail(exc):
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
