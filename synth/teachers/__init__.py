"""Teacher providers behind one interface; `client_for` builds the client a Teacher row describes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

from synth.teachers.base import TeacherClient, TeacherError
from synth.teachers.endpoint import UnsafeEndpoint, check_endpoint

if TYPE_CHECKING:
    from synth.models import Teacher


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
            raise TeacherError(f"Teacher '{teacher.name}': {error}", permanent=True) from None


def client_for(teacher: Teacher) -> TeacherClient:
    if teacher.provider != "offline":
        _check_base_url(teacher)
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
