"""`manage.py teacher add` and `teacher list`: administrators script their teachers."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from synth.models import Teacher


def run(*args: str) -> str:
    out = StringIO()
    call_command("teacher", *args, stdout=out)
    return out.getvalue()


def test_it_adds_a_teacher_with_its_limits(db):
    out = run(
        "add", "vllm-local", "--provider", "openai", "--model", "llama3.1", "--base-url", "http://10.0.0.12:8000/v1",
        "--api-key-env", "VLLM_API_KEY", "--concurrency", "16", "--rpm", "600", "--tpm", "200000",
    )  # fmt: skip
    assert "Added teacher 'vllm-local'" in out
    teacher = Teacher.objects.get(name="vllm-local")
    assert (teacher.provider, teacher.model, teacher.base_url) == (
        "openai",
        "llama3.1",
        "http://10.0.0.12:8000/v1",
    )
    assert (teacher.api_key_env, teacher.concurrency) == ("VLLM_API_KEY", 16)
    assert (teacher.requests_per_minute, teacher.tokens_per_minute) == (600, 200000)


def test_it_lists_the_teachers_and_the_offline_one_always_exists(db):
    Teacher.objects.filter(name="offline").delete()
    run(
        "add",
        "claude",
        "--provider",
        "anthropic",
        "--model",
        "claude-sonnet-4-5",
        "--api-key-env",
        "ANTHROPIC_API_KEY",
    )
    lines = run("list").splitlines()
    assert [line.split("\t")[0] for line in lines] == ["claude", "offline"]
    assert "key=ANTHROPIC_API_KEY" in lines[0]


def test_the_offline_teacher_exists_after_migrating(db):
    assert Teacher.objects.get(name="offline").provider == "offline"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["offline", "--provider", "offline"], "already exists"),
        (["gpt", "--provider", "openai", "--api-key-env", "OPENAI_API_KEY"], "--model"),
        (["gpt", "--provider", "openai", "--model", "gpt-4.1"], "--api-key-env"),
        (["gpt", "--provider", "openai", "--model", "gpt-4.1", "--api-key-env", "sk-live-123"], "_API_KEY"),
        (
            [
                "gpt",
                "--provider",
                "openai",
                "--model",
                "m",
                "--api-key-env",
                "X_API_KEY",
                "--concurrency",
                "0",
            ],
            "concurrency",
        ),
    ],
)
def test_it_refuses_bad_input_and_adds_nothing(db, args, message):
    count = Teacher.objects.count()
    with pytest.raises(CommandError, match=message):
        run("add", *args)
    assert Teacher.objects.count() == count
