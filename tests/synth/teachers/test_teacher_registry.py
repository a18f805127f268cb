"""Teacher providers register themselves by name; the admin's choices and batch mode follow the registry."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command

from synth.batches import BATCH_PROVIDERS, call_cost
from synth.models import Teacher
from synth.teachers import PROVIDERS, TeacherError, TeacherProvider, client_for
from synth.teachers.anthropic_provider import AnthropicTeacher
from synth.teachers.offline_provider import OfflineTeacher
from synth.teachers.openai_provider import OpenAITeacher
from synth.teachers.pricing import token_cost


@pytest.fixture
def echo_provider():
    """A provider defined the way a new module would define one, taken out of the registry afterwards."""

    class EchoTeacher(TeacherProvider):
        provider = "echo"
        label = "Echo (test)"

        def __init__(self, model: str) -> None:
            self.model = model

    yield EchoTeacher
    del PROVIDERS["echo"]


def test_it_registers_the_built_in_providers_in_the_admins_order():
    assert list(PROVIDERS.items()) == [
        ("offline", OfflineTeacher),
        ("openai", OpenAITeacher),
        ("anthropic", AnthropicTeacher),
    ]


def test_the_teacher_choices_are_the_registry_and_name_the_built_in_ones():
    choices = Teacher._meta.get_field("provider").choices
    assert choices == [(name, provider.label) for name, provider in PROVIDERS.items()]
    assert choices == Teacher.Provider.choices


def test_batch_mode_is_for_the_providers_whose_class_has_a_batch_api():
    assert {"openai", "anthropic"} == BATCH_PROVIDERS
    assert not OfflineTeacher.batch_api


def test_a_new_provider_is_offered_and_built_without_a_migration(echo_provider, db):
    assert ("echo", "Echo (test)") in Teacher._meta.get_field("provider").choices
    teacher = Teacher(name="echo", provider="echo", model="parrot")
    teacher.full_clean()

    client = client_for(teacher)

    assert isinstance(client, echo_provider) and client.model == "parrot"
    assert "echo" not in BATCH_PROVIDERS  # no batch API unless its class says so
    call_command("makemigrations", "synth", "--check", "--dry-run", verbosity=0)


def test_two_providers_cannot_share_a_name():
    with pytest.raises(TypeError, match="Two teacher providers are named 'openai'"):

        class AnotherOpenAI(TeacherProvider):
            provider = "openai"
            label = "Another"

    assert PROVIDERS["openai"] is OpenAITeacher


def test_an_unknown_provider_is_refused_by_name():
    with pytest.raises(TeacherError, match=r"^Unknown teacher provider 'retired'\.$") as error:
        client_for(Teacher(name="old", provider="retired", model="m"))
    assert error.value.permanent


def test_the_sdk_providers_are_built_from_the_teacher_with_the_key_from_settings(settings):
    settings.TEACHER_API_KEYS = {"GPU_API_KEY": "sk-registry-0123456789"}
    for provider, cls in [("openai", OpenAITeacher), ("anthropic", AnthropicTeacher)]:
        teacher = Teacher(
            name="gpu",
            provider=provider,
            model="m",
            api_key_env="GPU_API_KEY",
            temperature=0.2,
            max_tokens=99,
        )
        client = client_for(teacher)
        assert type(client) is cls
        assert (client.model, client.temperature, client.max_tokens) == ("m", 0.2, 99)
        assert "sk-registry" not in repr(client)


def test_a_calls_cost_is_one_formula_at_the_teachers_prices():
    teacher = Teacher(price_input_per_mtok=Decimal("2.5"), price_output_per_mtok=Decimal(10))
    assert token_cost(teacher, 1_000, 200) == Decimal("0.0045")
    assert call_cost(teacher, 1_000, 200) == (token_cost(teacher, 1_000, 200) / 2).quantize(
        Decimal("0.000001")
    )
