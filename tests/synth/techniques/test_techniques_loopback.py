"""Every technique end to end through each official SDK, against the loopback server."""

from __future__ import annotations

import itertools
import json
import random

import pytest

from synth.generation import execute_run, launch_run
from synth.models import Domain, GenerationRun, Teacher, TeacherCall
from synth.techniques.documents import add_document
from synth.techniques.queries import import_queries
from tests.synth.teachers.test_teacher_providers import (
    Reply,
    ScriptedServer,
    anthropic_reply,
    openai_reply,
    tool_block,
)

KEY = "sk-loopback-0123456789"
WORDS = ["apnea", "bradycardia", "cyanosis", "dyspnea", "edema", "fever", "gout", "hematuria", "icterus", "jaundice", "keratitis", "lupus", "myalgia", "nystagmus", "otalgia", "pruritus", "rhinorrhea", "syncope", "tinnitus", "urticaria", "vertigo", "wheeze"]  # fmt: skip


def schema_name(request) -> str:
    body = request.body
    if "response_format" in body:
        return body["response_format"]["json_schema"]["name"]
    return body["tool_choice"]["name"]


def responder(provider: str):
    counter = itertools.count()

    def respond(request) -> Reply:
        n = next(counter)
        rng = random.Random(n)
        name = schema_name(request)
        prompt = request.body["messages"][-1]["content"]
        words = lambda k: " ".join(rng.sample(WORDS, k))  # noqa: E731
        data = {
            "tasks": {
                "tasks": [{"instruction": f"Explain {words(4)} in adults.", "input": ""} for _ in range(6)]
            },
            "output": {"output": f"A careful answer mentioning {words(3)}."},
            "evolved": {
                "instruction": prompt.split("#The Given Prompt#:\n", 1)[-1].split("\n", 1)[0]
                + f" Also cover {words(3)}.",
                "input": "",
            },
            "instruction": {"instruction": f"What does the text say about {words(2)}?"},
            "curation": {"score": 5, "reason": "Focused and complete."},
            "judgement": {"preferred": "A", "reason": "More accurate."},
        }[name]
        if provider == "openai":
            return Reply(openai_reply(json.dumps(data)))
        return Reply(anthropic_reply(tool_block(name, data), stop_reason="tool_use"))

    return respond


@pytest.fixture(params=["openai", "anthropic"])
def loopback_teacher(request, demo_config, settings):
    server = ScriptedServer()
    server.responder = responder(request.param)
    server.start()
    settings.TEACHER_API_KEYS = {"LOOPBACK_API_KEY": KEY}
    teacher = Teacher.objects.create(
        name=f"loopback-{request.param}",
        provider=request.param,
        model="test-model",
        base_url=f"{server.url}/v1" if request.param == "openai" else server.url,
        api_key_env="LOOPBACK_API_KEY",
        price_input_per_mtok=1,
        price_output_per_mtok=2,
    )
    yield teacher
    server.stop()


@pytest.mark.parametrize(
    "technique",
    ["self_instruct", "evol_instruct", "distillation", "summarization", "backtranslation", "preference"],
)
def test_each_technique_runs_through_the_sdk(loopback_teacher, technique, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    options = {}
    if technique == "distillation":
        options["query_set"] = import_queries(
            name="q", content="Define shock.\nDefine sepsis.\nDefine SIRS.", format="lines"
        ).pk
    if technique in ("backtranslation", "summarization"):
        for n in range(3):
            add_document(
                title=f"Doc {n}",
                text=f"Asthma care point {n}: inhaled corticosteroids reduce exacerbations " * 3,
                domain=Domain.objects.get(slug="respiratory"),
            )
    run = launch_run(
        teacher=loopback_teacher, technique=technique, requested_count=3, sample_rate=0.0,
        domains=[Domain.objects.get(slug="respiratory")], options=options,
    )  # fmt: skip
    execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    assert run.candidates.count() == 3
    assert run.input_tokens > 0 and run.cost > 0
    assert (
        TeacherCall.objects.filter(run=run, provider=loopback_teacher.provider).count() == run.teacher_calls
    )
    for candidate in run.candidates.all():
        assert (
            candidate.teacher_provider == loopback_teacher.provider
            and candidate.teacher_model == "test-model"
        )
        assert candidate.provenance["calls"]
    if technique == "preference":
        assert all(c.is_pair for c in run.candidates.all())
