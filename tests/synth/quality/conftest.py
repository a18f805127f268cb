"""Candidates made directly, so each quality check can be tested on crafted text."""

from __future__ import annotations

import itertools

import pytest

from synth.generation import launch_run
from synth.models import Candidate, Domain, GenerationRun, Teacher
from synth.quality.exact import content_hash

_sequence = itertools.count(1)


@pytest.fixture
def quality_run(demo_config: Teacher) -> GenerationRun:
    return GenerationRun.objects.create(
        technique=GenerationRun.Technique.SELF_INSTRUCT,
        teacher=demo_config,
        requested_count=10,
        sample_rate=0.5,
        status=GenerationRun.Status.RUNNING,
    )


@pytest.fixture
def make_candidate(quality_run: GenerationRun):
    def make(
        instruction: str, output: str = "An answer.", *, input: str = "", domain: str | None = None, **extra
    ):
        return Candidate.objects.create(
            run=quality_run,
            sequence=next(_sequence),
            domain=Domain.objects.get(slug=domain) if domain else None,
            technique=quality_run.technique,
            instruction=instruction,
            input=input,
            output=output,
            content_hash=content_hash(instruction, input),
            teacher_provider="offline",
            teacher_model="offline-icd10-v1",
            **extra,
        )

    return make


@pytest.fixture
def launch(django_capture_on_commit_callbacks):
    """Launch a run as the launch page does; its task runs inline once the launch commits."""

    def launch(teacher, **overrides) -> GenerationRun:
        options = {
            "teacher": teacher,
            "technique": "self_instruct",
            "requested_count": 12,
            "sample_rate": 0.5,
        }
        with django_capture_on_commit_callbacks(execute=True):
            run = launch_run(**(options | overrides))
        run.refresh_from_db()
        return run

    return launch


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real Redis server from Debian's package, on a Unix socket, for this test session."""
    import shutil
    import subprocess
    import time

    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is missing: apt-get install redis-server (.ci/run does this)")
    folder = tmp_path_factory.mktemp("redis")
    socket = folder / "redis.sock"
    process = subprocess.Popen(
        [
            binary,
            "--port",
            "0",
            "--unixsocket",
            str(socket),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not socket.exists():
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError("redis-server did not start")
        time.sleep(0.05)
    yield f"unix://{socket}"
    process.terminate()
    process.wait(timeout=10)
