"""Generation techniques, one module each: a `Technique` subclass with a `name` registers itself.

Every module of this package is imported here, so a new technique is one new module (and its tests):
it appears in the launch form (with its options' fields), in `manage.py generate`, in the runs' and
sampling rules' technique choices and in the export filter, with no migration.
"""

from __future__ import annotations

import importlib
import pkgutil

from django import forms
from django.core.exceptions import ImproperlyConfigured

from synth.techniques.base import TECHNIQUES, Discard, Draft, StepResult, Technique

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
_ordered = sorted(TECHNIQUES.items(), key=lambda item: (item[1].order, item[0]))
TECHNIQUES.clear()
TECHNIQUES.update(_ordered)


def option_fields() -> dict[str, forms.Field]:
    """The launch form's fields for every technique's options, in the techniques' order. The form is
    one namespace: two techniques offering an option of the same name is a mistake caught here."""
    offered: dict[str, forms.Field] = {}
    owner: dict[str, str] = {}
    for name, technique in TECHNIQUES.items():
        for field_name, field in technique.Options.form_fields().items():
            if field_name in offered:
                raise ImproperlyConfigured(
                    f"The techniques '{owner[field_name]}' and '{name}' both offer the option "
                    f"'{field_name}' on the launch form: rename one."
                )
            offered[field_name], owner[field_name] = field, name
    return offered


def option_owners() -> dict[str, str]:
    """Which technique each option field of the launch form belongs to (field name -> technique)."""
    return {
        field_name: name
        for name, technique in TECHNIQUES.items()
        for field_name in technique.Options.form_fields()
    }


__all__ = ["TECHNIQUES", "Discard", "Draft", "StepResult", "Technique", "option_fields", "option_owners"]
