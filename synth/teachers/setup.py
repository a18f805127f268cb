"""Administrators' scripted teacher setup (the `teacher` command): add one, list them."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from synth.models import Teacher


class TeacherSetupError(Exception):
    """The teacher cannot be added as given; the message says what to fix."""


def add_teacher(
    *,
    name: str,
    provider: str,
    model: str = "",
    base_url: str = "",
    api_key_env: str = "",
    concurrency: int | None = None,
    requests_per_minute: int | None = None,
    tokens_per_minute: int | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    timeout_seconds: float | None = None,
    price_input_per_mtok: Decimal | None = None,
    price_output_per_mtok: Decimal | None = None,
) -> Teacher:
    if Teacher.objects.filter(name=name).exists():
        raise TeacherSetupError(f"A teacher named '{name}' already exists; change it in the admin.")
    if provider != Teacher.Provider.OFFLINE and not model:
        raise TeacherSetupError("Give the model's name with --model (e.g. gpt-4.1-mini, claude-sonnet-4-5).")
    if provider != Teacher.Provider.OFFLINE and not api_key_env:
        raise TeacherSetupError(
            "Give the name of the environment variable holding the API key with --api-key-env "
            "(e.g. OPENAI_API_KEY). The key itself is never stored."
        )
    teacher = Teacher(name=name, provider=provider, model=model, base_url=base_url, api_key_env=api_key_env)
    optional = {
        "concurrency": concurrency,
        "requests_per_minute": requests_per_minute,
        "tokens_per_minute": tokens_per_minute,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "timeout_seconds": timeout_seconds,
        "price_input_per_mtok": price_input_per_mtok,
        "price_output_per_mtok": price_output_per_mtok,
    }
    for field, value in optional.items():
        if value is not None:
            setattr(teacher, field, value)
    try:
        teacher.full_clean()
    except ValidationError as error:
        problems = "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()
        )
        raise TeacherSetupError(f"The teacher was not added. {problems}") from error
    with transaction.atomic():
        teacher.save()
    return teacher
