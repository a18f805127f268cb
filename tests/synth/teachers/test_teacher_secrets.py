"""A teacher's API key never reaches a page, a debug page or a stored reply; a base URL the SDKs cannot
use is refused when saved, and one forced into the database fails a launch cleanly."""

from __future__ import annotations

import base64
import json
import re
import sys
from urllib.parse import quote

import pytest
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.views.debug import technical_500_response

from synth.generation import execute_run, launch_run
from synth.models import Domain, GenerationRun, Teacher, TeacherCall
from synth.teachers import TeacherError, client_for
from synth.teachers.openai_provider import OpenAITeacher
from tests.conftest import teacher_form
from tests.synth.teachers.test_teacher_providers import (
    MESSAGES,
    SCHEMA,
    Reply,
    ScriptedServer,
    anthropic_error,
    anthropic_reply,
    openai_error,
    openai_reply,
    text_block,
    tool_block,
)
from tests.synth.techniques.test_techniques_loopback import responder

# "/" and "+" make the percent-encoded, JSON-escaped and base64 spellings differ from the raw key.
KEY = "sk-live/0123+4567890abcdef=XYZ"


def spellings(key: str = KEY) -> dict[str, str]:
    """How a server may echo the key: as sent, in a URL, in a Basic header. (Inside JSON it is escaped:
    the replies below are sent as JSON with "/" written "\\/", as some servers write it.)"""
    return {
        "raw": key,
        "percent": quote(key, safe=""),
        "percent_lower": re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(key, safe="")),
        "base64": base64.b64encode(f"api:{key}".encode()).decode(),
        "base64_offset": base64.b64encode(f"x{key}y".encode()).decode(),
    }


def echoes(key: str = KEY) -> str:
    return " | ".join(f"{name}={text}" for name, text in spellings(key).items())


def as_escaped_json(body: dict) -> str:
    """The body as JSON text with every "/" escaped: the key appears JSON-escaped in it."""
    text = json.dumps(body).replace("/", "\\/")
    assert json.loads(text) == body
    return text


def assert_no_key(text: str) -> None:
    assert KEY not in text
    assert quote(KEY, safe="") not in text and quote(KEY, safe="").lower() not in text
    assert "4567890abcdef" not in text  # the middle of the key, in any plain spelling
    # The base64 of the key alone, at any alignment, must be gone too.
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + KEY.encode()).decode()
        assert encoded[4:-4] not in text


# 1. Base URLs the SDK clients cannot use -----------------------------------------------------------

BAD_URLS = [
    ("http://gpu-\thost:8000/v1", "contains a tab"),
    ("http://gpu host:8000/v1", "contains a space"),
    ("http://gpu-ho\u2100st:8000/v1", "Invalid IDNA hostname"),
    ("http://xn--zz:8000/v1", "not a valid international (IDNA) name"),
    ("http://gpu%0d%0ahost:8000/v1", "is not a valid host name"),
    ("http://gpu%0Ahost:8000/v1", "is not a valid host name"),
    ("http:///v1", "no host name"),
    ("http://:8000/v1", "no host name"),
    ("http://10.0.0.12:99999/v1", "not between 1 and 65535"),
    ("http://10.0.0.12:80x/v1", "Invalid port"),
    ("http://user:sk-secret@10.0.0.12:8000/v1", "no user name or password"),
]


@pytest.mark.parametrize(("url", "why"), BAD_URLS)
def test_the_admin_refuses_a_url_the_sdk_cannot_use(client_for, administrator, url, why):
    r = client_for(administrator).post("/admin/synth/teacher/add/", teacher_form(name="gpu", base_url=url))
    assert r.status_code == 200
    assert why in r.text
    assert not Teacher.objects.filter(name="gpu").exists()


@pytest.mark.parametrize(("url", "why"), BAD_URLS)
def test_teacher_add_refuses_a_url_the_sdk_cannot_use(db, url, why):
    with pytest.raises(CommandError, match="base_url") as refused:
        call_command(
            "teacher", "add", "gpu", "--provider", "openai", "--model", "llama3.1", "--base-url", url,
            "--api-key-env", "VLLM_API_KEY",
        )  # fmt: skip
    assert why in str(refused.value)
    assert not Teacher.objects.filter(name="gpu").exists()


def test_a_good_international_name_is_kept_as_typed(db):
    """An IDNA name is checked in its encoded form (what DNS and the SDK use); 10.x needs no DNS."""
    call_command(
        "teacher", "add", "gpu", "--provider", "openai", "--model", "m", "--base-url", "http://10.0.0.12:8000/v1",
        "--api-key-env", "VLLM_API_KEY",
    )  # fmt: skip
    assert Teacher.objects.get(name="gpu").base_url == "http://10.0.0.12:8000/v1"


@pytest.mark.parametrize(
    "url", ["http://gpu-\thost:8000/v1", "http://gpu%0d%0ahost:8000/v1", "http://:8000/v1"]
)
def test_a_bad_url_forced_into_the_database_fails_the_launch_cleanly(
    client_for, administrator, settings, url
):
    """Saved before the check existed: the launch form says what is wrong, no 500, no run, no key."""
    call_command("seed_demo", "--no-users")
    settings.DEBUG = True  # as `make demo` runs
    settings.TEACHER_API_KEYS = {"GPU_API_KEY": KEY}
    teacher = Teacher.objects.create(
        name="gpu", provider="openai", model="m", base_url=url, api_key_env="GPU_API_KEY"
    )
    r = client_for(administrator).post(
        "/runs/new/",
        {"teacher": teacher.pk, "technique": "self_instruct", "requested_count": 2, "sample_percent": 50},
    )
    assert r.status_code == 422
    assert "Teacher &#x27;gpu&#x27;" in r.text
    assert_no_key(r.text)
    assert not GenerationRun.objects.exists()


@pytest.fixture
def sdk_base_url(monkeypatch):
    """A teacher without a base URL takes the SDK's from the environment, unchecked by our form."""
    monkeypatch.setenv("OPENAI_BASE_URL", "http://gpu-\thost:8000/v1")


def test_a_client_construction_error_becomes_a_teacher_error(db, settings, sdk_base_url):
    """Whatever the SDK raises while the client is built is a permanent failure with its reason."""
    settings.TEACHER_API_KEYS = {"GPU_API_KEY": KEY}
    teacher = Teacher(name="gpu", provider="openai", model="m", base_url="", api_key_env="GPU_API_KEY")
    with pytest.raises(TeacherError) as failed:
        client_for(teacher)
    assert failed.value.permanent and failed.value.reason == "setup"
    assert "cannot be set up" in failed.value.message
    assert failed.value.__cause__ is None and failed.value.__suppress_context__


def test_a_debug_page_for_an_error_in_the_provider_constructor_shows_no_key(settings):
    settings.DEBUG = True
    request = RequestFactory().get("/runs/new/")
    try:
        OpenAITeacher(model="m", api_key=KEY, base_url="http://gpu-\thost:8000/v1")
    except Exception:
        page = technical_500_response(request, *sys.exc_info()).content.decode()
    else:
        pytest.fail("the SDK accepted a URL with a tab")
    assert "InvalidURL" in page and "__init__" in page  # the page does show the constructor's frame
    assert "********************" in page  # with its variables hidden
    assert_no_key(page)


def test_a_debug_page_for_an_error_in_client_for_shows_no_key(db, settings, sdk_base_url):
    settings.DEBUG = True
    settings.TEACHER_API_KEYS = {"GPU_API_KEY": KEY}
    teacher = Teacher(name="gpu", provider="openai", model="m", base_url="", api_key_env="GPU_API_KEY")
    request = RequestFactory().get("/runs/new/")
    try:
        client_for(teacher)
    except TeacherError:
        page = technical_500_response(request, *sys.exc_info()).content.decode()
    assert "client_for" in page
    assert_no_key(page)


# 3. Keys echoed in replies are not stored -----------------------------------------------------------


@pytest.fixture
def echo_server():
    server = ScriptedServer()
    server.start()
    yield server
    server.stop()


def teacher_for(provider: str, server: ScriptedServer, settings) -> Teacher:
    settings.TEACHER_API_KEYS = {"ECHO_API_KEY": KEY}
    return Teacher.objects.create(
        name=f"echo-{provider}",
        provider=provider,
        model="m",
        base_url=f"{server.url}/v1" if provider == "openai" else server.url,
        api_key_env="ECHO_API_KEY",
    )


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_reply_that_echoes_the_key_is_kept_without_it(echo_server, provider, settings, db):
    client = client_for(teacher_for(provider, echo_server, settings))
    data = {"instruction": f"Echo: {echoes()}", "answer": "fine"}
    if provider == "openai":
        echo_server.reply(as_escaped_json(openai_reply(as_escaped_json(data))))
    else:
        echo_server.reply(
            as_escaped_json(anthropic_reply(tool_block(SCHEMA.name, data), stop_reason="tool_use"))
        )
    completion = client.complete(MESSAGES, schema=SCHEMA)
    assert "[redacted]" in completion.text
    assert_no_key(completion.text)
    assert_no_key(json.dumps(completion.data))
    assert_no_key(json.dumps(completion.raw))


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_an_error_that_echoes_the_key_url_encoded_is_kept_without_it(echo_server, provider, settings, db):
    client = client_for(teacher_for(provider, echo_server, settings))
    message = f"Invalid key at https://auth.example/check?key={quote(KEY, safe='')}; {echoes()}"
    body = openai_error(message) if provider == "openai" else anthropic_error(message)
    echo_server.reply(as_escaped_json(body), status=401)
    with pytest.raises(TeacherError) as failed:
        client.complete(MESSAGES)
    assert "[redacted]" in failed.value.raw
    assert_no_key(failed.value.message)
    assert_no_key(failed.value.raw)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_prose_that_echoes_the_key_is_kept_without_it(echo_server, provider, settings, db):
    client = client_for(teacher_for(provider, echo_server, settings))
    if provider == "openai":
        echo_server.reply(as_escaped_json(openai_reply(f"Your key: {echoes()}")))
    else:
        echo_server.reply(as_escaped_json(anthropic_reply(text_block(f"Your key: {echoes()}"))))
    assert_no_key(client.complete(MESSAGES).text)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_no_stored_call_or_candidate_of_a_run_holds_the_key(echo_server, provider, settings, db):
    """From the demo's defaults: a teacher that echoes the key in every answer; nothing stored keeps it."""
    call_command("seed_demo", "--no-users")
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    teacher = teacher_for(provider, echo_server, settings)
    inner = responder(provider)

    def respond(request) -> Reply:
        reply = inner(request)
        # In the answers only: instructions that all carry the same echo would be dropped as too similar.
        text = json.dumps(reply.body).replace("A careful answer", f"A careful answer ({echoes()})")
        return Reply(as_escaped_json(json.loads(text)))

    echo_server.responder = respond
    run = launch_run(
        teacher=teacher, technique="self_instruct", requested_count=3, sample_rate=0.0,
        domains=[Domain.objects.get(slug="respiratory")],
    )  # fmt: skip
    execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    calls = TeacherCall.objects.filter(run=run)
    assert any("[redacted]" in call.response_text for call in calls)
    for call in calls:
        assert_no_key(call.response_text + call.message + json.dumps(call.data) + json.dumps(call.request))
    for candidate in run.candidates.all():
        assert_no_key(
            candidate.instruction + candidate.input + candidate.output + json.dumps(candidate.provenance)
        )
