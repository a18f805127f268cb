"""The OpenAI and Anthropic teachers, driven through the official SDKs against a scripted loopback server."""

from __future__ import annotations

import json
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from synth.teachers.anthropic_provider import AnthropicTeacher
from synth.teachers.base import Schema, TeacherClient, TeacherError
from synth.teachers.dispatch import Call, Dispatcher, Outcome, RetryPolicy
from synth.teachers.openai_provider import OpenAITeacher

API_KEY = "sk-test-0123456789abcdef"

MESSAGES = [
    {"role": "system", "content": "You write board-style questions for physicians."},
    {"role": "user", "content": "Write one question about asthma."},
]

SCHEMA = Schema(
    name="instructions",
    json_schema={
        "type": "object",
        "properties": {"instruction": {"type": "string"}, "answer": {"type": "string"}},
        "required": ["instruction", "answer"],
    },
)


# A scripted server --------------------------------------------------------------------------------


@dataclass
class Reply:
    body: dict[str, Any] | str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Request:
    path: str
    headers: dict[str, str]  # names in lower case
    body: dict[str, Any]
    at: float = 0.0  # time.monotonic() on arrival


class ScriptedServer:
    """Answers each POST with the next scripted reply, and records every request it receives."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[Request] = []
        # Answers every request from its content instead of the script (for runs of many calls).
        self.responder: Callable[[Request], Reply] | None = None
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self._httpd.server_port}"

    def reply(
        self, body: dict[str, Any] | str, *, status: int = 200, delay: float = 0.0, **headers: str
    ) -> None:
        self.replies.append(Reply(body, status, {k.replace("_", "-"): v for k, v in headers.items()}, delay))

    def start(self) -> None:
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self._closing.set()  # wakes handlers still sleeping through a "slow" reply
        self._httpd.shutdown()
        self._httpd.server_close()

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length", 0))
        with self._lock:
            self.requests.append(
                Request(
                    path=handler.path,
                    headers={name.lower(): value for name, value in handler.headers.items()},
                    body=json.loads(handler.rfile.read(length) or b"{}"),
                    at=time.monotonic(),
                )
            )
            if self.responder is not None:
                reply = self.responder(self.requests[-1])
            else:
                reply = self.replies.popleft() if self.replies else Reply("no reply scripted", 418)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self._closing.wait(reply.delay)
        with self._lock:
            self.in_flight -= 1
        payload = (reply.body if isinstance(reply.body, str) else json.dumps(reply.body)).encode()
        try:
            handler.send_response(reply.status)
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(len(payload)))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting, as the timeout tests intend

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                server._answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    server.start()
    yield server
    server.stop()


# Each API's wire format ---------------------------------------------------------------------------


def openai_reply(
    content: str | None,
    *,
    finish_reason: str = "stop",
    refusal: str | None = None,
    usage: tuple[int, int] = (21, 7),
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-test-2026-01-01",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)},
    }


def openai_error(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}


def anthropic_reply(
    *content: dict[str, Any],
    stop_reason: str = "end_turn",
    stop_details: dict[str, Any] | None = None,
    usage: tuple[int, int] = (21, 7),
) -> dict[str, Any]:
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": "claude-test-2026-01-01",
        "content": list(content),
        "stop_reason": stop_reason,
        "stop_details": stop_details,
        "stop_sequence": None,
        "usage": {"input_tokens": usage[0], "output_tokens": usage[1]},
    }


def text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def tool_block(name: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": "toolu_test", "name": name, "input": tool_input}


def anthropic_error(message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": "api_error", "message": message}}


def openai_teacher(url: str, **options: Any) -> OpenAITeacher:
    return OpenAITeacher(model="gpt-test", api_key=API_KEY, base_url=f"{url}/v1", **options)


def anthropic_teacher(url: str, **options: Any) -> AnthropicTeacher:
    return AnthropicTeacher(model="claude-test", api_key=API_KEY, base_url=url, **options)


@dataclass(frozen=True)
class Provider:
    name: str
    teacher: Callable[..., TeacherClient]
    text_reply: Callable[[str], dict[str, Any]]
    error: Callable[[str], dict[str, Any]]


PROVIDERS = [
    Provider("openai", openai_teacher, openai_reply, openai_error),
    Provider("anthropic", anthropic_teacher, lambda text: anthropic_reply(text_block(text)), anthropic_error),
]


@pytest.fixture(params=PROVIDERS, ids=lambda provider: provider.name)
def provider(request: pytest.FixtureRequest) -> Provider:
    return request.param


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Both providers -----------------------------------------------------------------------------------


def test_it_reports_usage_and_timing(server: ScriptedServer, provider: Provider) -> None:
    server.reply(provider.text_reply("Which drug relieves acute bronchospasm?"), delay=0.3)

    completion = provider.teacher(server.url).complete(MESSAGES)

    assert completion.provider == provider.name
    assert completion.usage.input_tokens == 21
    assert completion.usage.output_tokens == 7
    assert completion.latency_ms >= 300  # the server took 0.3 s: the time is measured, not made up
    assert json.loads(json.dumps(completion.raw))["id"] in {"chatcmpl-test", "msg_test"}
    assert API_KEY not in json.dumps(completion.raw)
    assert len(server.requests) == 1


def test_it_treats_a_rate_limit_as_temporary(server: ScriptedServer, provider: Provider) -> None:
    server.reply(provider.error("Slow down."), status=429, retry_after="7")

    with pytest.raises(TeacherError) as error:
        provider.teacher(server.url).complete(MESSAGES)

    assert not error.value.permanent
    assert "429" in error.value.message
    assert "Retry-After: 7" in error.value.message
    assert "Slow down" in error.value.raw
    assert len(server.requests) == 1  # the SDK did not retry behind our back


def test_it_treats_a_server_error_as_temporary(server: ScriptedServer, provider: Provider) -> None:
    server.reply(provider.error("Something broke."), status=500)

    with pytest.raises(TeacherError) as error:
        provider.teacher(server.url).complete(MESSAGES)

    assert not error.value.permanent
    assert "500" in error.value.message
    assert len(server.requests) == 1


def test_it_treats_a_rejected_key_as_permanent(server: ScriptedServer, provider: Provider) -> None:
    # Some servers echo the key they reject; it must not reach our message, raw text or traceback.
    server.reply(provider.error(f"Incorrect API key provided: {API_KEY}."), status=401)

    with pytest.raises(TeacherError) as error:
        provider.teacher(server.url).complete(MESSAGES)

    assert error.value.permanent
    assert "401" in error.value.message
    assert server.requests[0].headers["authorization"] == f"Bearer {API_KEY}"
    assert API_KEY not in error.value.message
    assert API_KEY not in error.value.raw
    assert API_KEY not in "".join(traceback.format_exception(error.value))
    assert error.value.__context__ is None  # the SDK's exception holds the request and its headers
    assert len(server.requests) == 1


def test_it_treats_a_missing_model_as_permanent(server: ScriptedServer, provider: Provider) -> None:
    server.reply(provider.error("No such model."), status=404)

    with pytest.raises(TeacherError) as error:
        provider.teacher(server.url).complete(MESSAGES)

    assert error.value.permanent
    assert "No such model" in error.value.message


def test_it_gives_up_on_a_slow_reply(server: ScriptedServer, provider: Provider) -> None:
    server.reply(provider.text_reply("Too late."), delay=4.0)

    with pytest.raises(TeacherError) as error:
        provider.teacher(server.url, timeout=0.5).complete(MESSAGES)

    assert not error.value.permanent and error.value.reason == "timeout"  # gave up before the reply
    assert "0.5 s" in error.value.message
    assert len(server.requests) == 1


def test_it_treats_an_unreachable_server_as_temporary(provider: Provider) -> None:
    with pytest.raises(TeacherError) as error:
        provider.teacher(f"http://127.0.0.1:{free_port()}", timeout=2.0).complete(MESSAGES)

    assert not error.value.permanent
    assert "connect" in error.value.message


# OpenAI -------------------------------------------------------------------------------------------


def test_it_returns_an_openai_reply(server: ScriptedServer) -> None:
    server.reply(openai_reply("Which drug relieves acute bronchospasm?"))

    completion = openai_teacher(server.url).complete(MESSAGES)

    assert completion.text == "Which drug relieves acute bronchospasm?"
    assert completion.model == "gpt-test"
    assert completion.data is None
    assert completion.raw["model"] == "gpt-test-2026-01-01"


def test_it_sends_the_conversation_to_openai(server: ScriptedServer) -> None:
    server.reply(openai_reply("One."))
    server.reply(openai_reply("Two."))
    teacher = openai_teacher(server.url, temperature=0.7, max_tokens=1024)

    teacher.complete(MESSAGES)
    teacher.complete(MESSAGES, temperature=0.2, max_tokens=50)

    first, second = server.requests
    assert first.path == "/v1/chat/completions"
    assert first.headers["authorization"] == f"Bearer {API_KEY}"
    assert first.body["model"] == "gpt-test"
    assert first.body["messages"] == MESSAGES  # the system prompt stays in the conversation
    assert (first.body["temperature"], first.body["max_tokens"]) == (0.7, 1024)
    assert "response_format" not in first.body
    assert (second.body["temperature"], second.body["max_tokens"]) == (0.2, 50)


def test_it_asks_openai_for_the_schema(server: ScriptedServer) -> None:
    reply = {"instruction": "Name the first-line reliever.", "answer": "A short-acting beta agonist."}
    server.reply(openai_reply(json.dumps(reply)))

    completion = openai_teacher(server.url).complete(MESSAGES, schema=SCHEMA)

    assert server.requests[0].body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "instructions", "schema": SCHEMA.json_schema},
    }
    assert completion.data == reply
    assert completion.text == json.dumps(reply)


def test_it_rejects_malformed_json_from_openai(server: ScriptedServer) -> None:
    server.reply(openai_reply('{"instruction": "Name the first-line reliever.", "answer": '))

    with pytest.raises(TeacherError) as error:
        openai_teacher(server.url).complete(MESSAGES, schema=SCHEMA)

    assert not error.value.permanent
    assert "not valid JSON" in error.value.message
    assert error.value.raw == '{"instruction": "Name the first-line reliever.", "answer": '


def test_it_reports_an_openai_refusal_as_permanent(server: ScriptedServer) -> None:
    server.reply(openai_reply(None, refusal="I can't help with that."))

    with pytest.raises(TeacherError) as error:
        openai_teacher(server.url).complete(MESSAGES, schema=SCHEMA)

    assert error.value.permanent
    assert "refused" in error.value.message
    assert error.value.raw == "I can't help with that."


def test_it_reports_a_cut_off_openai_reply_as_temporary(server: ScriptedServer) -> None:
    server.reply(openai_reply('{"instruction": "Name the', finish_reason="length"))

    with pytest.raises(TeacherError) as error:
        openai_teacher(server.url).complete(MESSAGES, schema=SCHEMA)

    assert not error.value.permanent
    assert "cut off" in error.value.message
    assert error.value.raw == '{"instruction": "Name the'


# Anthropic ----------------------------------------------------------------------------------------


def test_it_joins_anthropic_text_blocks(server: ScriptedServer) -> None:
    server.reply(anthropic_reply(text_block("Which drug relieves "), text_block("acute bronchospasm?")))

    completion = anthropic_teacher(server.url).complete(MESSAGES)

    assert completion.text == "Which drug relieves acute bronchospasm?"
    assert completion.model == "claude-test"
    assert completion.data is None
    assert completion.raw["model"] == "claude-test-2026-01-01"


def test_it_sends_the_system_prompt_to_anthropic_separately(server: ScriptedServer) -> None:
    server.reply(anthropic_reply(text_block("One.")))
    server.reply(anthropic_reply(text_block("Two.")))
    teacher = anthropic_teacher(server.url, temperature=0.7, max_tokens=1024)

    teacher.complete(MESSAGES)
    teacher.complete(MESSAGES, temperature=0.2, max_tokens=50)

    first, second = server.requests
    assert first.path == "/v1/messages"
    assert first.headers["authorization"] == f"Bearer {API_KEY}"  # anthropic 2.x no longer sends x-api-key
    assert first.body["model"] == "claude-test"
    assert first.body["system"] == "You write board-style questions for physicians."
    assert first.body["messages"] == [{"role": "user", "content": "Write one question about asthma."}]
    assert (first.body["temperature"], first.body["max_tokens"]) == (0.7, 1024)
    assert "tools" not in first.body
    assert (second.body["temperature"], second.body["max_tokens"]) == (0.2, 50)


def test_it_asks_anthropic_for_the_schema_as_a_forced_tool(server: ScriptedServer) -> None:
    reply = {"instruction": "Name the first-line reliever.", "answer": "A short-acting beta agonist."}
    server.reply(anthropic_reply(tool_block("instructions", reply), stop_reason="tool_use"))

    completion = anthropic_teacher(server.url).complete(MESSAGES, schema=SCHEMA)

    assert server.requests[0].body["tools"] == [{"name": "instructions", "input_schema": SCHEMA.json_schema}]
    assert server.requests[0].body["tool_choice"] == {"type": "tool", "name": "instructions"}
    assert completion.data == reply
    assert json.loads(completion.text) == reply


def test_it_rejects_an_anthropic_tool_call_missing_a_field(server: ScriptedServer) -> None:
    reply = {"instruction": "Name the first-line reliever."}
    server.reply(anthropic_reply(tool_block("instructions", reply), stop_reason="tool_use"))

    with pytest.raises(TeacherError) as error:
        anthropic_teacher(server.url).complete(MESSAGES, schema=SCHEMA)

    assert not error.value.permanent
    assert "answer" in error.value.message
    assert json.loads(error.value.raw) == reply


def test_it_rejects_anthropic_prose_when_a_schema_was_asked(server: ScriptedServer) -> None:
    server.reply(anthropic_reply(text_block('{"instruction": "Name the first-line reliever."')))

    with pytest.raises(TeacherError) as error:
        anthropic_teacher(server.url).complete(MESSAGES, schema=SCHEMA)

    assert not error.value.permanent
    assert error.value.raw == '{"instruction": "Name the first-line reliever."'


def test_it_reports_an_anthropic_refusal_as_permanent(server: ScriptedServer) -> None:
    server.reply(
        anthropic_reply(
            stop_reason="refusal",
            stop_details={"type": "refusal", "category": "general_harms", "explanation": "Policy."},
        )
    )

    with pytest.raises(TeacherError) as error:
        anthropic_teacher(server.url).complete(MESSAGES, schema=SCHEMA)

    assert error.value.permanent
    assert "refused" in error.value.message
    assert "Policy" in error.value.message


def test_it_reports_a_cut_off_anthropic_reply_as_temporary(server: ScriptedServer) -> None:
    server.reply(anthropic_reply(text_block("Which drug relieves"), stop_reason="max_tokens"))

    with pytest.raises(TeacherError) as error:
        anthropic_teacher(server.url).complete(MESSAGES)

    assert not error.value.permanent
    assert "cut off" in error.value.message
    assert error.value.raw == "Which drug relieves"


# The dispatcher: retries, re-asks, limits, against the same server through both SDKs ---------------

FAST = RetryPolicy(max_attempts=3, max_reasks=2, base_delay=0.05, max_delay=0.2)


def dispatch(teacher: TeacherClient, *calls: Call, **options: Any) -> list[Outcome]:
    with Dispatcher(teacher, policy=options.pop("policy", FAST), **options) as dispatcher:
        futures = [dispatcher.submit(call) for call in calls]
        return [future.result(timeout=30) for future in futures]


def schema_reply(provider: Provider, data: dict[str, Any]) -> dict[str, Any]:
    if provider.name == "openai":
        return openai_reply(json.dumps(data))
    return anthropic_reply(tool_block(SCHEMA.name, data), stop_reason="tool_use")


ANSWER = {"instruction": "Name the first-line reliever.", "answer": "A short-acting beta agonist."}
CALL = Call(key="0:0:test", messages=MESSAGES, schema=SCHEMA)


def test_the_dispatcher_waits_as_long_as_retry_after_says(server: ScriptedServer, provider: Provider) -> None:
    server.reply(provider.error("Slow down."), status=429, retry_after="1")
    server.reply(schema_reply(provider, ANSWER))

    [outcome] = dispatch(provider.teacher(server.url), CALL)

    assert outcome.ok and outcome.completion.data == ANSWER
    first, second = server.requests
    assert second.at - first.at >= 1.0
    assert [(a.ok, a.reason) for a in outcome.attempts] == [(False, "rate_limited"), (True, "")]


def test_the_dispatcher_retries_a_server_error(server: ScriptedServer, provider: Provider) -> None:
    server.reply(provider.error("Something broke."), status=500)
    server.reply(provider.error("Overloaded."), status=503)
    server.reply(schema_reply(provider, ANSWER))

    [outcome] = dispatch(provider.teacher(server.url), CALL)

    assert outcome.ok
    assert [a.reason for a in outcome.attempts] == ["server_error", "overloaded", ""]
    assert len(server.requests) == 3  # the SDK's own retries stayed off: no layer multiplies


def test_the_dispatcher_gives_up_after_its_attempts(server: ScriptedServer, provider: Provider) -> None:
    for _ in range(3):
        server.reply(provider.error("Something broke."), status=500)

    [outcome] = dispatch(provider.teacher(server.url), CALL)

    assert not outcome.ok and outcome.error.reason == "server_error"
    assert len(server.requests) == 3 == len(outcome.attempts)


def test_the_dispatcher_retries_a_reply_slower_than_the_timeout(
    server: ScriptedServer, provider: Provider
) -> None:
    server.reply(schema_reply(provider, ANSWER), delay=4.0)
    server.reply(schema_reply(provider, ANSWER))

    [outcome] = dispatch(provider.teacher(server.url, timeout=0.5), CALL)

    assert outcome.ok
    # The first attempt gave up on the slow reply; the answer is the retry's, not the slow one's.
    assert [a.reason for a in outcome.attempts] == ["timeout", ""]


def test_the_dispatcher_re_asks_after_malformed_json(server: ScriptedServer) -> None:
    server.reply(openai_reply('{"instruction": "Name the first-line reliever.", "answer": '))
    server.reply(openai_reply(json.dumps(ANSWER)))

    [outcome] = dispatch(openai_teacher(server.url), CALL)

    assert outcome.ok and outcome.completion.data == ANSWER
    failed = outcome.attempts[0]
    assert (failed.ok, failed.reason) == (False, "unparseable")
    assert failed.text == '{"instruction": "Name the first-line reliever.", "answer": '  # kept to inspect
    reask = server.requests[1].body["messages"]
    assert reask[: len(MESSAGES)] == MESSAGES
    assert reask[-2] == {"role": "assistant", "content": failed.text}
    assert "could not be used" in reask[-1]["content"] and "not valid JSON" in reask[-1]["content"]


def test_the_dispatcher_re_asks_when_a_field_is_missing_then_gives_up(server: ScriptedServer) -> None:
    for _ in range(3):
        server.reply(anthropic_reply(tool_block(SCHEMA.name, {"instruction": "?"}), stop_reason="tool_use"))

    [outcome] = dispatch(anthropic_teacher(server.url), CALL)

    assert not outcome.ok and outcome.error.reason == "unparseable"
    assert len(server.requests) == 3  # the first ask and two re-asks
    assert all(json.loads(a.text) == {"instruction": "?"} for a in outcome.attempts)


def test_a_refusal_is_a_failed_call_with_its_reason(server: ScriptedServer) -> None:
    server.reply(openai_reply(None, refusal="I can't help with that."))
    server.reply(
        anthropic_reply(stop_reason="refusal", stop_details={"type": "refusal", "explanation": "Policy."})
    )

    [openai_outcome] = dispatch(openai_teacher(server.url), CALL)
    [anthropic_outcome] = dispatch(anthropic_teacher(server.url), CALL)

    for outcome in (openai_outcome, anthropic_outcome):
        assert not outcome.ok and outcome.error.reason == "refusal"
        assert len(outcome.attempts) == 1  # asking again would not change the answer
    assert len(server.requests) == 2


def test_a_cut_off_reply_is_a_failed_call_with_its_tokens(server: ScriptedServer, provider: Provider) -> None:
    if provider.name == "openai":
        server.reply(openai_reply('{"instruction": "Name the', finish_reason="length", usage=(30, 50)))
    else:
        server.reply(anthropic_reply(text_block("Which drug"), stop_reason="max_tokens", usage=(30, 50)))

    [outcome] = dispatch(provider.teacher(server.url), CALL)

    assert not outcome.ok and outcome.error.reason == "cut_off"
    assert (outcome.attempts[0].input_tokens, outcome.attempts[0].output_tokens) == (30, 50)  # billed
    assert len(server.requests) == 1


def test_a_rejected_key_is_not_retried(server: ScriptedServer, provider: Provider) -> None:
    server.reply(provider.error("Bad key."), status=401)

    [outcome] = dispatch(provider.teacher(server.url), CALL)

    assert not outcome.ok and outcome.error.reason == "rejected"
    assert len(server.requests) == 1


def test_the_dispatcher_keeps_to_its_concurrency(server: ScriptedServer) -> None:
    for _ in range(8):
        server.reply(openai_reply(json.dumps(ANSWER)), delay=0.3)

    outcomes = dispatch(openai_teacher(server.url), *[CALL] * 8, concurrency=3)

    assert all(outcome.ok for outcome in outcomes)
    assert server.most_in_flight == 3


def test_the_dispatcher_keeps_under_the_requests_per_minute(server: ScriptedServer) -> None:
    for _ in range(7):
        server.reply(openai_reply(json.dumps(ANSWER)))

    # A "minute" of one second keeps the test short: at most 4 requests in any one-second window.
    outcomes = dispatch(
        openai_teacher(server.url), *[CALL] * 7, concurrency=8, requests_per_minute=4, period=1.0
    )

    assert all(outcome.ok for outcome in outcomes)
    arrivals = [request.at for request in server.requests]
    assert max(sum(1 for t in arrivals if start <= t < start + 1.0) for start in arrivals) <= 4
    assert arrivals[-1] - arrivals[0] >= 1.0


def test_the_dispatcher_keeps_under_the_tokens_per_minute(server: ScriptedServer) -> None:
    for _ in range(6):
        server.reply(openai_reply(json.dumps(ANSWER), usage=(100, 100)))

    # Each call reports 200 tokens; 400 tokens per one-second "minute" allow two calls a second.
    outcomes = dispatch(
        openai_teacher(server.url), *[CALL] * 6, concurrency=8, tokens_per_minute=400, period=1.0
    )

    assert all(outcome.ok for outcome in outcomes)
    arrivals = [request.at for request in server.requests]
    assert arrivals[-1] - arrivals[0] >= 1.5


def test_it_never_follows_a_redirect(server: ScriptedServer, provider: Provider) -> None:
    """A teacher server cannot bounce the workers to another address (SSRF): the redirect is a failed call."""
    elsewhere = ScriptedServer()
    elsewhere.start()
    try:
        server.reply({}, status=307, location=f"{elsewhere.url}/v1/chat/completions")
        with pytest.raises(TeacherError) as failure:
            provider.teacher(server.url).complete([{"role": "user", "content": "Hi"}])
        assert failure.value.permanent
        assert "redirects are not followed" in failure.value.message
        assert elsewhere.requests == []
    finally:
        elsewhere.stop()
