"""Teacher providers behind one interface; `client_for` builds the client a Teacher row describes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from synth.teachers.base import TeacherClient, TeacherError
from synth.teachers.endpoint import UnsafeEndpoint, check_endpoint
from synth.teachers.redact import redact_key

if TYPE_CHECKING:
    from synth.models import Teacher


@sensitive_variables()  # holds the key: no debug page may show this frame's variables
def _api_key(teacher: Teacher) -> str:
    key = settings.TEACHER_API_KEYS.get(teacher.api_key_env) if teacher.api_key_env else None
    if not key:
        raise TeacherError(
            f"Teacher '{teacher.name}' needs an API key: set the environment variable "
            f"{teacher.api_key_env or '<NAME>_API_KEY'} for the web server and the workers.",
            permanent=True,
        )
    return key


def _check_base_url(teacher: Teacher) -> None:
    """Checked on every use, not only when saved: what a host name resolves to can change."""
    if teacher.base_url:
        try:
            check_endpoint(teacher.base_url)
        except UnsafeEndpoint as error:
            raise TeacherError(
                f"Teacher '{teacher.name}': {error}", permanent=True, reason="unsafe_endpoint"
            ) from None


@sensitive_variables()
def client_for(teacher: Teacher) -> TeacherClient:
    """The teacher's client; a TeacherError (permanent, with its reason) if it cannot be built."""
    if teacher.provider != "offline":
        _check_base_url(teacher)
    try:
        return _build(teacher)
    except TeacherError:
        raise
    except Exception as error:  # e.g. the SDK refusing a URL saved before it was checked at save time
        # `from None`: the SDK's exception and its frames, which hold the key, go no further.
        key = settings.TEACHER_API_KEYS.get(teacher.api_key_env, "") if teacher.api_key_env else ""
        raise TeacherError(
            f"Teacher '{teacher.name}' cannot be set up: {type(error).__name__}: {redact_key(str(error), key)}. "
            "Correct its settings in the admin.",
            permanent=True,
            reason="setup",
        ) from None


@sensitive_variables()
def _build(teacher: Teacher) -> TeacherClient:
    if teacher.provider == "offline":
        from synth.teachers.offline import OfflineTeacher

        return OfflineTeacher(teacher.model)
    if teacher.provider == "openai":
        from synth.teachers.openai_provider import OpenAITeacher

        return OpenAITeacher(
            model=teacher.model,
            api_key=_api_key(teacher),
            base_url=teacher.base_url or None,
            temperature=teacher.temperature,
            max_tokens=teacher.max_tokens,
            timeout=teacher.timeout_seconds,
        )
    if teacher.provider == "anthropic":
        from synth.teachers.anthropic_provider import AnthropicTeacher

        return AnthropicTeacher(
            model=teacher.model,
            api_key=_api_key(teacher),
            base_url=teacher.base_url or None,
            temperature=teacher.temperature,
            max_tokens=teacher.max_tokens,
            timeout=teacher.timeout_seconds,
        )
    raise TeacherError(f"Unknown teacher provider '{teacher.provider}'.", permanent=True)


__all__ = ["TeacherClient", "TeacherError", "client_for"]
