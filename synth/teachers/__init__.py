"""Teacher providers, one module each, registered by name; `client_for` builds the client a Teacher row describes.

Every `*_provider` module of this package is imported here, so a new provider is one new module (and
its tests): it appears in the admin's choices (in its `order`), `manage.py teacher add --provider`
and batch mode if it says `batch_api = True`, with no migration.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from synth.teachers.base import PROVIDERS, TeacherClient, TeacherError, TeacherProvider
from synth.teachers.redact import redact_key

# Importing a provider's module registers it (TeacherProvider.__init_subclass__).
for _module in pkgutil.iter_modules(__path__):
    if _module.name.endswith("_provider"):
        importlib.import_module(f"{__name__}.{_module.name}")
_ordered = sorted(PROVIDERS.items(), key=lambda item: (item[1].order, item[0]))
PROVIDERS.clear()
PROVIDERS.update(_ordered)

if TYPE_CHECKING:
    from synth.models import Teacher


def provider_choices() -> list[tuple[str, str]]:
    """Teacher.provider's choices: every registered provider (a callable, so adding one needs no migration)."""
    return [(name, provider.label) for name, provider in PROVIDERS.items()]


@sensitive_variables()
def client_for(teacher: Teacher) -> TeacherClient:
    """The teacher's client; a TeacherError (permanent, with its reason) if it cannot be built."""
    provider = PROVIDERS.get(teacher.provider)
    if provider is None:
        raise TeacherError(f"Unknown teacher provider '{teacher.provider}'.", permanent=True)
    try:
        return provider.for_teacher(teacher)
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


__all__ = [
    "PROVIDERS",
    "TeacherClient",
    "TeacherError",
    "TeacherProvider",
    "client_for",
    "provider_choices",
]
