"""Distillation: the teacher answers questions an administrator uploaded or typed in (a query set).

The run's chunks split the query set in order: chunk i answers queries i·size to (i+1)·size - 1, so
workers never answer the same query twice; a query whose answer fails is left out, not replaced.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms

from synth.models import Query, QuerySet
from synth.teachers.base import Schema
from synth.techniques.base import Draft, Step, StepResult, Technique, call_provenance
from synth.techniques.options import TechniqueOptions, option, option_error

PROMPT_VERSION = "distillation/1"

OUTPUT_SCHEMA = Schema(
    name="output",
    json_schema={
        "type": "object",
        "properties": {"output": {"type": "string"}},
        "required": ["output"],
        "additionalProperties": False,
    },
)
SYSTEM = (
    "You are a careful clinician writing reference answers for training data. Answer accurately "
    "and concisely, and say when the answer depends on local guidelines or the individual patient."
)


def answer_prompt(query: str, task_input: str, domain_name: str | None) -> str:
    lines = [f"Clinical domain: {domain_name}"] if domain_name else []
    lines += [
        f"Instruction: {query}",
        f"Input: {task_input or '(none)'}",
        'Reply with JSON only: {"output": "..."}',
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class DistillationOptions(TechniqueOptions):
    query_set: int | None = option(
        None,
        forms.ModelChoiceField(
            queryset=QuerySet.objects.all(),
            required=False,
            help_text="Distillation: the questions to answer.",
        ),
        stored=lambda query_set: query_set.pk,
    )

    def __post_init__(self) -> None:
        self.chosen_query_set()

    def chosen_query_set(self) -> QuerySet:
        """The query set, read again on each call (it is checked before every step)."""
        query_set = QuerySet.objects.filter(pk=self.query_set).first() if self.query_set else None
        if query_set is None:
            raise option_error(
                "Distillation needs a query set: upload one or type the questions in, then choose it."
            )
        return query_set


class Distillation(Technique):
    name = "distillation"
    label = "Distillation"
    order = 30
    calls_per_record = 1.0
    Options = DistillationOptions
    options: DistillationOptions

    @staticmethod
    def _used_up(query_set: QuerySet) -> str:
        size = query_set.queries.count()
        return (
            f"{size} quer{'ies' if size != 1 else 'y'} in the set '{query_set.name}', one answer each: every "
            "query has been asked (a query whose answer failed is left out; see the failed calls)."
        )

    def step(self, number: int, *, want: int) -> Step:
        query_set = self.options.chosen_query_set()
        chunk = self.run.chunks.get(index=self.chunk_index)
        start = chunk.first_sequence - 1 + number * self.batch_size
        end = min(start + self.batch_size, chunk.first_sequence - 1 + chunk.size)
        if start >= end:
            return StepResult(drafts=[], stop_reason=self._used_up(query_set))
        queries = list(
            Query.objects.filter(query_set=query_set, held_back=False)  # PHI findings: never sent
            .select_related("domain")
            .order_by("line", "pk")[start:end]
        )
        if not queries:
            return StepResult(drafts=[], stop_reason=self._used_up(query_set))
        chosen = list(self.run.domains.all())
        default_domain = chosen[0] if len(chosen) == 1 else None  # for queries uploaded without one
        answers = yield [
            self.call(
                number,
                f"answer:{query.pk}",
                system=SYSTEM,
                user=answer_prompt(query.text, query.input, query.domain.name if query.domain else None),
                schema=OUTPUT_SCHEMA,
                template=PROMPT_VERSION,
                context={"task": "answer", "instruction": query.text, "input": query.input},
            )
            for query in queries
        ]
        drafts = []
        for query, answer in zip(queries, answers, strict=True):
            if not answer.ok:
                continue
            output = str(answer.completion.data["output"]).strip()
            if output:
                drafts.append(
                    Draft(
                        instruction=query.text,
                        input=query.input,
                        output=output,
                        domain=query.domain or default_domain,
                        provenance={
                            "prompt_template": PROMPT_VERSION,
                            "query": {"set": query_set.name, "line": query.line, "id": query.pk},
                            "calls": {"answer": call_provenance(answer)},
                        },
                    )
                )
        return StepResult(drafts=drafts)
