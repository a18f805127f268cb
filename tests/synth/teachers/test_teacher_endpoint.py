"""A teacher's base URL cannot point the workers at this machine's services, metadata or files (SSRF)."""

import pytest

from synth.generation import GenerationError, launch_run
from synth.models import Teacher
from synth.teachers.endpoint import UnsafeEndpoint, check_endpoint
from tests.conftest import teacher_form

LOCAL_MODEL_SERVERS = ["localhost:11434", "127.0.0.1:11434"]  # the documented default


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///etc/passwd", "http:// or https://"),
        ("gopher://example.org/", "http:// or https://"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fe80::1]:8000/v1", "link-local"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://127.0.0.1:5432/", "TEACHER_LOCAL_HOSTS"),  # the database
        ("http://localhost:6379/", "TEACHER_LOCAL_HOSTS"),  # Redis
        ("http://127.0.0.1:8000/v1", "TEACHER_LOCAL_HOSTS"),  # the studio itself
        ("http://[::1]:11434/v1", "TEACHER_LOCAL_HOSTS"),  # not the allowed spelling
        ("http://0.0.0.0:11434/v1", "TEACHER_LOCAL_HOSTS"),
        ("http://127.1:5432/", "TEACHER_LOCAL_HOSTS"),  # loopback spelled short, on an unlisted port
        # A name that does not resolve is refused: nothing was checked, so nothing may be called.
        ("http://no-such-host.invalid:8000/v1", "does not resolve"),
    ],
)
def test_it_refuses_unsafe_addresses(url, why):
    with pytest.raises(UnsafeEndpoint, match=why):
        check_endpoint(url, local_hosts=LOCAL_MODEL_SERVERS)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:11434/v1",  # Ollama, allowed by the default list
        "http://127.0.0.1:11434/v1",
        "http://10.0.0.12:8000/v1",  # a GPU box on the private network
        "http://203.0.113.7:8000/v1",
    ],
)
def test_it_allows_model_servers(url):
    check_endpoint(url, local_hosts=LOCAL_MODEL_SERVERS)


def test_the_admin_refuses_a_metadata_url_and_saves_nothing(client_for, administrator, db):
    r = client_for(administrator).post(
        "/admin/synth/teacher/add/",
        teacher_form(name="sneaky", base_url="http://169.254.169.254/latest/meta-data/"),
    )
    assert r.status_code == 200
    assert "link-local or cloud metadata address" in r.text
    assert not Teacher.objects.filter(name="sneaky").exists()


def test_a_run_cannot_be_launched_against_a_local_service(db, settings):
    """A teacher saved before the check existed (or whose host now resolves elsewhere) is checked on use."""
    settings.TEACHER_LOCAL_HOSTS = LOCAL_MODEL_SERVERS
    settings.TEACHER_API_KEYS = {"OPENAI_API_KEY": "sk-test-key-000000"}
    teacher = Teacher.objects.create(
        name="redis",
        provider="openai",
        model="m",
        base_url="http://localhost:6379/",
        api_key_env="OPENAI_API_KEY",
    )
    with pytest.raises(GenerationError, match="TEACHER_LOCAL_HOSTS"):
        launch_run(teacher=teacher, technique="self_instruct", requested_count=1, sample_rate=1.0)
    assert not teacher.runs.exists()


def test_the_admin_sets_a_teachers_call_timeout(client_for, administrator, db):
    client = client_for(administrator)
    r = client.post("/admin/synth/teacher/add/", teacher_form())
    assert r.status_code == 302
    assert Teacher.objects.get(name="vllm").timeout_seconds == 45
    r = client.post("/admin/synth/teacher/add/", teacher_form(name="hasty", timeout_seconds="0.1"))
    assert r.status_code == 200 and "greater than or equal to 1" in r.text
    assert not Teacher.objects.filter(name="hasty").exists()
