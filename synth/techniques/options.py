"""A technique's run options: a typed class that reads the run's stored dict and offers them on the launch form."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Self

from django import forms

from synth.teachers.base import TeacherError


def option_error(message: str) -> TeacherError:
    return TeacherError(message, permanent=True, reason="rejected")


def option(
    default: Any, form_field: forms.Field | None = None, *, stored: Callable[[Any], Any] | None = None
):
    """One option of a technique: its default and, when the launch form offers it, the form's field for it
    (named as the option). `stored` turns the field's value into what the run keeps (e.g. a row's pk)."""
    return field(default=default, metadata={"form_field": form_field, "stored": stored})


@dataclass(frozen=True)
class TechniqueOptions:
    """No options. A technique's own class declares its options with `option(...)` and checks their
    values in `__post_init__`, raising `option_error` with what to fix."""

    @classmethod
    def load(cls, stored: Mapping[str, Any]) -> Self:
        """The options a run stored, checked. Keys that are not this technique's (e.g. `filled_gaps`,
        or another technique's option) are left alone; a missing option takes its default."""
        return cls(**{f.name: stored[f.name] for f in fields(cls) if f.name in stored})

    @classmethod
    def form_fields(cls) -> dict[str, forms.Field]:
        """The launch form's fields for these options (fresh copies: a form changes its fields)."""
        return {
            f.name: copy.deepcopy(f.metadata["form_field"])
            for f in fields(cls)
            if f.metadata.get("form_field") is not None
        }

    @classmethod
    def form_initial(cls, stored: Mapping[str, Any]) -> dict[str, Any]:
        """The launch form's initial values for options a run stored (to launch it again): a value kept
        through `stored` (a row's pk or name) is matched back to the field's choice that gives it."""
        initial = {}
        for f in fields(cls):
            form_field = f.metadata.get("form_field")
            if form_field is None or f.name not in stored:
                continue
            value, keep = stored[f.name], f.metadata["stored"]
            if keep is not None and isinstance(form_field, forms.ModelChoiceField):
                value = next((obj.pk for obj in form_field.queryset if keep(obj) == value), None)
            if value is not None:
                initial[f.name] = value
        return initial

    @classmethod
    def from_form(cls, cleaned_data: Mapping[str, Any]) -> dict[str, Any]:
        """What the run stores from the launch form: the options filled in (one left empty keeps its
        default by not being stored)."""
        stored = {}
        for f in fields(cls):
            if f.metadata.get("form_field") is None:
                continue
            value = cleaned_data.get(f.name)
            if value and f.metadata["stored"] is not None:
                value = f.metadata["stored"](value)
            if value:
                stored[f.name] = value
        return stored
