"""What every generation technique provides: drafts of candidate records, step by step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from synth.models import Domain, GenerationRun
    from synth.teachers.base import Completion, TeacherClient, TeacherError


@dataclass
class Draft:
    """A record a technique produced, before it is stored and passes the quality gate."""

    instruction: str
    output: str
    domain: Domain | None
    input: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Discard:
    """Something a technique's own rules threw away before it became a record (e.g. too similar)."""

    reason: str
    text: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepResult:
    drafts: list[Draft]
    completions: list[Completion]  # every teacher call made, for token and cost accounting
    failures: list[TeacherError] = field(default_factory=list)  # calls that failed, for the run's tally
    discarded: list[Discard] = field(default_factory=list)  # dropped by the technique's rules


class Technique:
    """A technique turns a step number into drafts. Subclasses name themselves and do one step."""

    name: ClassVar[str]
    label: ClassVar[str]
    batch_size: ClassVar[int] = 4

    def __init__(self, *, teacher: TeacherClient, run: GenerationRun) -> None:
        self.teacher = teacher
        self.run = run

    def step(self, number: int, *, want: int) -> StepResult:
        raise NotImplementedError
