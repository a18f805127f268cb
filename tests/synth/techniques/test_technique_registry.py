"""A technique is one module: it registers itself, brings its options and needs no migration."""

from dataclasses import dataclass

import pytest
from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from review.forms import ExportForm
from synth.forms import LaunchRunForm
from synth.generation import launch_run
from synth.models import GenerationRun, technique_choices
from synth.teachers.base import Schema, TeacherError
from synth.techniques import TECHNIQUES, option_fields
from synth.techniques.base import Draft, StepResult, Technique, call_provenance
from synth.techniques.evol_instruct import EvolInstructOptions
from synth.techniques.options import TechniqueOptions, option, option_error

OUTPUT = Schema(name="output", json_schema={"type": "object", "required": ["output"]})


@dataclass(frozen=True)
class EchoOptions(TechniqueOptions):
    echoes: int = option(
        1,
        forms.IntegerField(min_value=1, max_value=3, required=False, help_text="Echo: answers per question."),
    )

    def __post_init__(self) -> None:
        if not isinstance(self.echoes, int) or not 1 <= self.echoes <= 3:
            raise option_error(f"Echo answers 1 to 3 times, not {self.echoes!r}.")


@pytest.fixture
def echo():
    """A technique defined in one place, as a new module would define it (removed afterwards)."""

    class Echo(Technique):
        name = "echo"
        label = "Echo"
        Options = EchoOptions
        calls_per_record = 1.0

        def step(self, number: int, *, want: int):
            question = "Which ICD-10-CM category codes asthma?"
            [answer] = yield [
                self.call(
                    number,
                    "answer",
                    system="Answer.",
                    user=f"Q: {question}",
                    schema=OUTPUT,
                    template="echo/1",
                    context={"task": "answer", "instruction": question, "input": ""},
                )
            ]
            output = answer.completion.data["output"] if answer.ok else ""
            provenance = {"echoes": self.options.echoes, "calls": {"answer": call_provenance(answer)}}
            return StepResult(
                drafts=[Draft(instruction=question, output=output, domain=None, provenance=provenance)]
            )

    yield Echo
    del TECHNIQUES["echo"]


def test_a_new_technique_is_offered_everywhere_without_a_migration(db, echo):
    assert ("echo", "Echo") in technique_choices()
    assert ("echo", "Echo") in list(LaunchRunForm().fields["technique"].choices)
    assert ("echo", "Echo") in list(ExportForm().fields["techniques"].choices)
    field = LaunchRunForm().fields["echoes"]
    assert field.help_text == "Echo: answers per question." and field.max_value == 3
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)  # exits non-zero on a change


def test_the_launch_form_stores_the_chosen_techniques_options_only(demo_config, echo):
    data = {"teacher": demo_config.pk, "technique": "echo", "requested_count": 1, "sample_percent": 0}
    form = LaunchRunForm({**data, "echoes": 2, "rounds": 5, "contrast": "flawed"})
    assert form.is_valid(), form.errors
    assert form.options() == {"echoes": 2}
    refused = LaunchRunForm({**data, "echoes": 4})
    assert not refused.is_valid() and "less than or equal to 3" in str(refused.errors["echoes"])


def test_a_new_technique_runs_with_the_offline_teacher(demo_config, echo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = launch_run(teacher=demo_config, technique="echo", requested_count=1, sample_rate=0.0)
    run.refresh_from_db()
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    assert run.get_technique_display() == "Echo"
    assert "J45" in run.candidates.get().output


def test_options_are_read_from_what_the_run_stored_and_refused_when_they_cannot_work():
    assert EvolInstructOptions.load({}).rounds == 3
    assert EvolInstructOptions.load({"rounds": 5, "filled_gaps": ["cardiology"]}).rounds == 5
    with pytest.raises(TeacherError, match=r"1 to 8 rounds, not 9"):
        EvolInstructOptions.load({"rounds": 9})


def test_the_techniques_are_offered_in_their_order():
    assert list(TECHNIQUES) == [
        "self_instruct",
        "evol_instruct",
        "distillation",
        "summarization",
        "backtranslation",
        "preference",
    ]


def test_two_techniques_with_one_name_are_refused():
    with pytest.raises(ImproperlyConfigured, match="self_instruct"):

        class Impostor(Technique):
            name = "self_instruct"
            label = "Impostor"


def test_two_techniques_offering_one_option_name_are_refused():
    @dataclass(frozen=True)
    class Rounds(TechniqueOptions):
        rounds: int = option(1, forms.IntegerField(required=False))

    class Clash(Technique):
        name = "clash"
        label = "Clash"
        Options = Rounds

    try:
        with pytest.raises(
            ImproperlyConfigured, match="'evol_instruct' and 'clash' both offer the option 'rounds'"
        ):
            option_fields()
    finally:
        del TECHNIQUES["clash"]
