"""Clinical summarization: distillation over documents, with a task the administrator writes.

The task ("Summarize this note for a referral letter.") is applied to each de-identified document as
its input, and the teacher's answer is the record's response: instruction = the task, input = the
note, output = the summary. Documents are PHI-screened when added; held-back ones are never sent. As
in Backtranslation, each document is used once per run, so a run asked for more records than there
are documents ends short and says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms

from synth.quality.phi import find_phi
from synth.techniques.base import Draft, Step, StepResult, Technique, call_provenance
from synth.techniques.distillation import OUTPUT_SCHEMA
from synth.techniques.documents import documents_used_up, require_documents, usable_documents
from synth.techniques.options import TechniqueOptions, option, option_error
from synth.techniques.queries import text_problem

PROMPT_VERSION = "summarization/1"
DEFAULT_TASK = "Summarize this note for a referral letter."
MAX_TASK_CHARS = 1_000

SYSTEM = (
    "You are a careful clinician. You are given a task and a de-identified clinical note. Do the task "
    "using only what the note says; do not add findings, names or dates that are not in it."
)


def summary_prompt(task: str, note: str, domain_name: str | None) -> str:
    lines = [f"Clinical domain: {domain_name}"] if domain_name else []
    lines += [f"Task: {task}", "Note:", note, 'Reply with JSON only: {"output": "..."}']
    return "\n".join(lines)


@dataclass(frozen=True)
class SummarizationOptions(TechniqueOptions):
    summary_task: str = option(
        DEFAULT_TASK,
        forms.CharField(
            label="Task for each document",
            required=False,
            max_length=MAX_TASK_CHARS,
            widget=forms.TextInput(attrs={"placeholder": DEFAULT_TASK}),
            help_text="Summarization: what the teacher does with each de-identified document, which is "
            f"given as the task's input (default: “{DEFAULT_TASK}”).",
        ),
    )

    def __post_init__(self) -> None:
        task = self.summary_task
        if not isinstance(task, str) or not task.strip():
            raise option_error(
                "Write the summarization task, e.g. “Summarize this note for a referral letter.”"
            )
        if len(task) > MAX_TASK_CHARS:
            raise option_error(f"The summarization task is longer than {MAX_TASK_CHARS:,} characters.")
        if problem := text_problem(task):
            raise option_error(f"The summarization task {problem}.")
        if findings := find_phi(task):
            found = ", ".join(f"{f.kind} “{f.text}”" for f in findings)
            raise option_error(
                f"The summarization task holds what the PHI screen takes for identifiers ({found}): "
                "remove them; the task is sent to the teacher with every document."
            )


class Summarization(Technique):
    name = "summarization"
    label = "Summarization (distillation over documents)"
    order = 35
    calls_per_record = 1.0
    input_tokens_per_call = 600
    output_tokens_per_call = 200
    Options = SummarizationOptions
    options: SummarizationOptions

    @classmethod
    def check_options(cls, options: dict, *, domains: list) -> SummarizationOptions:
        checked = super().check_options(options, domains=domains)
        require_documents("Summarization", domains, say_domains=True)
        return checked

    def step(self, number: int, *, want: int) -> Step:
        task = self.options.summary_task.strip()
        domains = list(self.run.domains.all())
        chunk = self.run.chunks.get(index=self.chunk_index)
        start = chunk.first_sequence - 1 + number * self.batch_size
        end = min(start + self.batch_size, chunk.first_sequence - 1 + chunk.size)
        documents = list(usable_documents(domains).select_related("domain")[start:end]) if start < end else []
        if not documents:
            return StepResult(drafts=[], stop_reason=documents_used_up(domains, each="one summary each"))
        summaries = yield [
            self.call(
                number,
                f"summary:{document.pk}",
                system=SYSTEM,
                user=summary_prompt(task, document.text, document.domain.name if document.domain else None),
                schema=OUTPUT_SCHEMA,
                template=PROMPT_VERSION,
                context={"task": "summarize", "instruction": task, "document": document.text},
            )
            for document in documents
        ]
        drafts = []
        for document, summary in zip(documents, summaries, strict=True):
            if not summary.ok:
                continue  # the failed call is recorded with its reason; the document is not retried
            output = str(summary.completion.data["output"]).strip()
            if output:
                drafts.append(
                    Draft(
                        instruction=task,
                        input=document.text,
                        output=output,
                        domain=document.domain,
                        provenance={
                            "prompt_template": PROMPT_VERSION,
                            "document": {"id": document.pk, "title": document.title},
                            "calls": {"summary": call_provenance(summary)},
                        },
                    )
                )
        return StepResult(drafts=drafts)
