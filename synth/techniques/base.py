"""What every generation technique provides: steps that ask the teacher and turn replies into drafts.

A step is a generator: it yields the list of teacher calls it needs next (they run concurrently,
within the teacher's limits), receives their outcomes in the same order, and finally returns a
`StepResult`. It never writes to the database; the run's driver (synth/generation.py) records the
calls, stores the drafts, and runs many steps at once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from django.core.exceptions import ImproperlyConfigured

from synth.plugins import TECHNIQUES
from synth.teachers.base import Schema
from synth.teachers.dispatch import Call, Outcome
from synth.techniques.options import TechniqueOptions

if TYPE_CHECKING:
    from synth.models import Domain, GenerationRun


@dataclass
class Draft:
    """A record a technique produced, before it is stored and passes the quality gate."""

    instruction: str
    output: str
    domain: Domain | None
    input: str = ""
    rejected_output: str = ""  # preference pairs: the response the judge ranked lower
    provenance: dict[str, Any] = field(default_factory=dict)
    teacher_provider: str = ""  # when not the run's teacher (e.g. a preference pair's other teacher)
    teacher_model: str = ""
    # Set when the technique's own rule filters the record but it should still be kept, with why
    # (e.g. Backtranslation's self-curation score below the threshold).
    filter_reason: str = ""
    filter_message: str = ""
    filter_score: float | None = None
    filter_evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Discard:
    """Something a technique's own rules threw away before it became a record (e.g. too similar)."""

    reason: str
    text: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepResult:
    drafts: list[Draft]
    discarded: list[Discard] = field(default_factory=list)  # dropped by the technique's rules
    stop_reason: str = ""  # set when the technique has nothing more to work on (e.g. queries used up)


Step = Generator[list[Call], list[Outcome], StepResult]


def call_provenance(outcome: Outcome) -> dict[str, Any]:
    """What a record keeps of one call: the prompt as sent, the raw reply, tokens, latency, model."""
    attempt = outcome.attempts[-1] if outcome.attempts else None
    completion = outcome.completion
    return {
        "prompt": attempt.messages if attempt else outcome.call.messages,
        "template": outcome.call.template,
        "reply": completion.text if completion else "",
        "model": completion.model if completion else "",
        "input_tokens": completion.usage.input_tokens if completion else 0,
        "output_tokens": completion.usage.output_tokens if completion else 0,
        "latency_ms": completion.latency_ms if completion else 0,
        "temperature": outcome.call.temperature,
        "teacher": outcome.call.teacher,
        "cached": bool(attempt and attempt.cached),
        **({"batch": completion.raw["batch"]} if completion and completion.raw.get("batch") else {}),
    }


# Every technique, by name, in the technique menu's order (synth/techniques/__init__.py finds them).


class Technique:
    """Subclasses name themselves and implement `step`; the rest is shared. A subclass with a `name`
    registers itself in TECHNIQUES."""

    name: ClassVar[str]
    label: ClassVar[str]
    order: ClassVar[int] = 100  # its place in the technique menu, lowest first
    Options: ClassVar[type[TechniqueOptions]] = TechniqueOptions
    batch_size: ClassVar[int] = 4
    # For the launch form's cost estimate: calls per record and typical tokens per call.
    calls_per_record: ClassVar[float] = 2.0
    input_tokens_per_call: ClassVar[int] = 350
    output_tokens_per_call: ClassVar[int] = 250

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in vars(cls):
            return
        other = TECHNIQUES.get(cls.name)
        if other is not None and (other.__module__, other.__qualname__) != (cls.__module__, cls.__qualname__):
            raise ImproperlyConfigured(f"Two techniques are named '{cls.name}': {other} and {cls}.")
        TECHNIQUES[cls.name] = cls

    def __init__(self, *, run: GenerationRun, chunk_index: int = 0) -> None:
        self.run = run
        self.chunk_index = chunk_index
        self.options = self.check_options(run.options, domains=list(run.domains.all()))

    @classmethod
    def check_options(cls, options: dict[str, Any], *, domains: list[Domain]) -> TechniqueOptions:
        """The run's options, typed; raises `option_error` with what to fix when they cannot work."""
        return cls.Options.load(options)

    def call(
        self,
        number: int,
        slot: str,
        *,
        system: str,
        user: str,
        schema: Schema,
        template: str,
        temperature: float | None = None,
        seed: int | None = None,
        teacher: str = "",
        by_slot: bool = False,
        context: dict[str, Any] | None = None,
    ) -> Call:
        """A call named within the run. `by_slot` calls are reused on resume whatever their prompt
        (a step's first call, whose prompt may depend on what other steps stored meanwhile); others
        are named by their prompt too, so a resumed step never reuses an answer to another question.
        `context` says what the prompt asks, in structured form, for the offline teacher (a "task"
        and its fields: synth/teachers/offline_provider.py reads them); it is never sent to a provider."""
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        key = f"{self.chunk_index}:{number}:{slot}"
        if not by_slot:
            digest = hashlib.sha256(json.dumps([messages, temperature, teacher]).encode()).hexdigest()[:16]
            key += f":{digest}"
        return Call(
            key=key,
            messages=messages,
            schema=schema,
            temperature=temperature,
            seed=seed,
            template=template,
            teacher=teacher,
            context=context or {},
        )

    def step(self, number: int, *, want: int) -> Step:
        raise NotImplementedError
