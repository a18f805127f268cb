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


class ScriptedServer:
    """Answers each POST with the next scripted reply, and records every request it receives."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[Request] = []
        self._closing = threading.Event()
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
        self.requests.append(
            Request(
                path=handler.path,
                headers={name.lower(): value for name, value in handler.headers.items()},
                body=json.loads(handler.rfile.read(length) or b"{}"),
            )
        )
        reply = self.replies.popleft() if self.replies else Reply("no reply scripted for this request", 418)
        self._closing.wait(reply.delay)
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
    server.reply(provider.text_reply("Which drug relieves acute bronchospasm?"))

    completion = provider.teacher(server.url).complete(MESSAGES)

    assert completion.provider == provider.name
    assert completion.usage.input_tokens == 21
    assert completion.usage.output_tokens == 7
    assert completion.latency_ms >= 0
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
    server.reply(provider.text_reply("Too late."), delay=2.0)
    started = time.monotonic()

    with pytest.raises(TeacherError) as error:
        provider.teacher(server.url, timeout=0.5).complete(MESSAGES)

    assert not error.value.permanent
    assert "0.5 s" in error.value.message
    assert time.monotonic() - started < 1.5
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
