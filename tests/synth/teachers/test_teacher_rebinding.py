"""DNS rebinding: a teacher's host name that resolves to an allowed address when checked and to a
forbidden one when connected to never reaches the forbidden server.

Two real loopback servers share a port: the model server on 127.0.0.1 (listed, by address, in
TEACHER_LOCAL_HOSTS) and a "forbidden" one on 127.0.0.2 (loopback, not listed: it stands for the
database, Redis or the metadata service). The system resolver is replaced for one made-up name, whose
answers the test scripts; every other name resolves as usual.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command

from synth.generation import execute_run, launch_run
from synth.models import Domain, GenerationRun, Teacher, TeacherCall
from synth.teachers import TeacherError, client_for
from tests.synth.teachers.test_teacher_providers import MESSAGES, ScriptedServer, openai_reply

NAME = "teacher.rebind.test"
KEY = "sk-rebind-0123456789abcdef"


class ForbiddenServer:
    """Listens where no teacher may go and records whatever reaches it (it must stay empty)."""

    def __init__(self, port: int) -> None:
        self.received: list[dict[str, str]] = []
        self.connections = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def setup(self) -> None:
                server.connections += 1
                super().setup()

            def do_POST(self) -> None:
                server.received.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(200)
                self.end_headers()

            do_GET = do_POST

            def log_message(self, *args) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.2", port), Handler)

    def start(self) -> None:
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class ScriptedResolver:
    """Answers look-ups of NAME from a script (the last answer repeats), like a DNS server with TTL 0."""

    def __init__(self, monkeypatch, answers: list[str | None]) -> None:
        self.answers = list(answers)
        self.lookups: list[str] = []
        real = socket.getaddrinfo

        def getaddrinfo(host, port, *args, **kwargs):
            if host != NAME:
                return real(host, port, *args, **kwargs)
            answer = self.answers[min(len(self.lookups), len(self.answers) - 1)]
            self.lookups.append(answer)
            if answer is None:  # the name does not resolve (NXDOMAIN, or DNS unreachable)
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (answer, int(port)))]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def servers(settings):
    model_server = ScriptedServer()
    port = int(model_server.url.rsplit(":", 1)[1])
    forbidden = ForbiddenServer(port)
    model_server.start()
    forbidden.start()
    settings.TEACHER_LOCAL_HOSTS = [f"127.0.0.1:{port}"]  # the model server, by address: nothing else
    settings.TEACHER_API_KEYS = {"REBIND_API_KEY": KEY}
    yield model_server, forbidden, port
    model_server.stop()
    forbidden.stop()


def rebinding_teacher(port: int, *, scheme: str = "http") -> Teacher:
    teacher = Teacher(
        name="rebinding",
        provider="openai",
        model="m",
        base_url=f"{scheme}://{NAME}:{port}/v1",
        api_key_env="REBIND_API_KEY",
    )
    teacher.full_clean()  # the admin's check, which resolves the name once
    teacher.save()
    return teacher


def test_the_forbidden_server_answers_when_called_directly(servers):
    """The set-up is honest: had the client resolved again and connected there, it would have got in."""
    _, forbidden, port = servers
    with socket.create_connection(("127.0.0.2", port)) as connection:
        connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert connection.recv(100).startswith(b"HTTP/1.0 200")
    assert forbidden.received


def test_a_name_that_changes_between_check_and_connection_is_refused(servers, monkeypatch, db):
    model_server, forbidden, port = servers
    resolver = ScriptedResolver(monkeypatch, ["127.0.0.1", "127.0.0.1", "127.0.0.2"])
    teacher = rebinding_teacher(port)  # look-up 1: allowed
    client = client_for(teacher)  # look-up 2, checked again on use: allowed
    with pytest.raises(TeacherError) as refused:
        client.complete(MESSAGES)  # look-up 3, when connecting: now loopback, not listed
    assert refused.value.reason == "unsafe_endpoint" and refused.value.permanent
    assert "127.0.0.2" in refused.value.message and "TEACHER_LOCAL_HOSTS" in refused.value.message
    assert resolver.lookups == ["127.0.0.1", "127.0.0.1", "127.0.0.2"]
    assert forbidden.connections == 0 and forbidden.received == []
    assert model_server.requests == []


def test_every_connection_is_checked_not_only_the_first(servers, monkeypatch, db):
    model_server, forbidden, port = servers
    resolver = ScriptedResolver(monkeypatch, ["127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.2"])
    client = client_for(rebinding_teacher(port))
    model_server.reply(openai_reply("Asthma is a chronic airway disease."))
    assert client.complete(MESSAGES).text == "Asthma is a chronic airway disease."
    # The server spoke HTTP/1.0 and closed the connection: the next call opens (and checks) a new one.
    with pytest.raises(TeacherError) as refused:
        client.complete(MESSAGES)
    assert refused.value.reason == "unsafe_endpoint"
    assert resolver.lookups[-1] == "127.0.0.2"
    assert forbidden.connections == 0 and forbidden.received == []
    assert len(model_server.requests) == 1
    # The connection went to the checked address under the teacher's own name.
    assert model_server.requests[0].headers["host"] == f"{NAME}:{port}"
    assert model_server.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_a_name_that_stops_resolving_fails_the_call_as_a_connection_error(servers, monkeypatch, db):
    """Checked when saved, then DNS is down: retried like any connection failure, nothing sent."""
    model_server, forbidden, port = servers
    ScriptedResolver(monkeypatch, ["127.0.0.1", "127.0.0.1", None])
    client = client_for(rebinding_teacher(port))
    with pytest.raises(TeacherError) as failed:
        client.complete(MESSAGES)
    assert failed.value.reason == "connection" and not failed.value.permanent
    assert model_server.requests == [] and forbidden.connections == 0


def test_a_name_that_does_not_resolve_is_refused(servers, settings, db):
    _, _, port = servers
    teacher = Teacher(name="t", provider="openai", model="m", base_url=f"http://{NAME}:{port}/v1")
    teacher.api_key_env = "REBIND_API_KEY"
    with pytest.raises(Exception, match="does not resolve"):
        teacher.full_clean()  # no scripted resolver: the made-up name resolves nowhere


def test_a_run_against_a_rebinding_name_never_reaches_the_forbidden_server(
    servers, monkeypatch, settings, db
):
    """From the demo's defaults, through the product: launched while the name pointed at the model
    server, run after it moved. Its calls fail as unsafe and nothing reaches the forbidden server."""
    model_server, forbidden, port = servers
    call_command("seed_demo", "--no-users")
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    # Saving checks (1), launching checks (2), the worker checks (3); then every connection resolves.
    resolver = ScriptedResolver(monkeypatch, ["127.0.0.1"] * 3 + ["127.0.0.2"])
    teacher = rebinding_teacher(port)
    run = launch_run(
        teacher=teacher, technique="self_instruct", requested_count=2, sample_rate=0.0,
        domains=[Domain.objects.get(slug="respiratory")],
    )  # fmt: skip
    execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == GenerationRun.Status.FAILED
    assert len(resolver.lookups) > 3
    failed = TeacherCall.objects.filter(run=run, status=TeacherCall.Status.FAILED)
    assert failed.exists() and {call.reason for call in failed} == {"unsafe_endpoint"}
    assert forbidden.connections == 0 and forbidden.received == []
    assert model_server.requests == []


# TLS: the connection goes to the checked address, but TLS still names the host -------------------


@pytest.fixture
def tls_certificate(tmp_path):
    """A self-signed certificate for NAME, trusted by the client through SSL_CERT_FILE."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={NAME}",
         "-addext", f"subjectAltName=DNS:{NAME}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return key, cert


def test_tls_names_the_teachers_host_not_the_address(servers, tls_certificate, monkeypatch, db):
    model_server, forbidden, port = servers
    key, cert = tls_certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    server_names: list[str | None] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)
    model_server._httpd.socket = context.wrap_socket(model_server._httpd.socket, server_side=True)
    ScriptedResolver(monkeypatch, ["127.0.0.1"])
    client = client_for(rebinding_teacher(port, scheme="https"))
    model_server.reply(openai_reply("Over TLS."))
    assert client.complete(MESSAGES).text == "Over TLS."  # the certificate for NAME was accepted
    assert server_names == [NAME]
    assert model_server.requests[0].headers["host"] == f"{NAME}:{port}"
    assert forbidden.connections == 0
