"""Instruction backtranslation (Li et al., 2023): the teacher writes the instruction a text answers.

Over uploaded de-identified documents (PHI-screened on upload; held-back documents are never sent),
the teacher first writes the instruction each document would be the answer to, then rates the pair
on the paper's 1-5 self-curation scale. Pairs scoring below the run's threshold are kept as filtered
records, with their score and the teacher's reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms

from synth.teachers.base import Schema
from synth.techniques.base import Draft, Step, StepResult, Technique, call_provenance
from synth.techniques.documents import documents_used_up, require_documents, usable_documents
from synth.techniques.options import TechniqueOptions, option, option_error

PROMPT_VERSION = "backtranslation/1"
DEFAULT_MIN_SCORE = 4  # the paper keeps the top tiers (score 4 or 5)

INSTRUCTION_SCHEMA = Schema(
    name="instruction",
    json_schema={
        "type": "object",
        "properties": {"instruction": {"type": "string"}},
        "required": ["instruction"],
        "additionalProperties": False,
    },
)
CURATION_SCHEMA = Schema(
    name="curation",
    json_schema={
        "type": "object",
        "properties": {
            "score": {"type": "integer", "minimum": 1, "maximum": 5},
            "reason": {"type": "string"},
        },
        "required": ["score", "reason"],
        "additionalProperties": False,
    },
)

INSTRUCTION_SYSTEM = "You write instructions for clinical instruction-tuning data."
CURATION_SYSTEM = "You are a strict reviewer of clinical instruction-tuning data."

# The paper's self-curation rubric (Li et al., 2023, Table 19), shortened.
RUBRIC = """Score the answer to the instruction from 1 to 5:
1: the answer is incomplete, vague, off-topic or not related to the instruction.
2: the answer addresses most of the asks but does not directly answer the instruction.
3: the answer is helpful but not written by an AI assistant; it reads like an excerpt of a document.
4: the answer is written from an AI assistant's perspective with a clear focus on the instruction.
5: a perfect answer from an AI assistant: focused, complete, accurate and well organized."""


def instruction_prompt(document: str) -> str:
    return (
        "Below is a text from a clinical document. Write the instruction (a question or task) that this "
        "text would be a good answer to.\n"
        f"Text: {document}\n"
        'Reply with JSON only: {"instruction": "..."}'
    )


def curation_prompt(instruction: str, document: str) -> str:
    return (
        f"{RUBRIC}\nInstruction: {instruction}\nAnswer: {document}\n"
        'Reply with JSON only: {"score": 1-5, "reason": "..."}'
    )


@dataclass(frozen=True)
class BacktranslationOptions(TechniqueOptions):
    min_score: int = option(
        DEFAULT_MIN_SCORE,
        forms.IntegerField(
            label="Self-curation threshold",
            min_value=1,
            max_value=5,
            required=False,
            help_text="Backtranslation: pairs scored below this (1-5) are filtered (default 4).",
        ),
    )

    def __post_init__(self) -> None:
        value = self.min_score
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            raise option_error(
                f"The self-curation threshold must be a whole number from 1 to 5, not {value!r}."
            )


def curation_verdict(score: object, threshold: int) -> tuple[int | None, bool]:
    """The score as a number (None if the teacher gave none usable) and whether the pair is kept."""
    if isinstance(score, bool) or not isinstance(score, int | float) or not 1 <= score <= 5:
        return None, False
    return int(score), score >= threshold


class Backtranslation(Technique):
    name = "backtranslation"
    label = "Backtranslation"
    order = 40
    calls_per_record = 2.0
    input_tokens_per_call = 600
    Options = BacktranslationOptions
    options: BacktranslationOptions

    @classmethod
    def check_options(cls, options: dict, *, domains: list) -> BacktranslationOptions:
        checked = super().check_options(options, domains=domains)
        require_documents("Backtranslation", domains)
        return checked

    def _used_up(self) -> str:
        return documents_used_up(list(self.run.domains.all()), each="one instruction each")

    def step(self, number: int, *, want: int) -> Step:
        threshold = self.options.min_score
        chunk = self.run.chunks.get(index=self.chunk_index)
        start = chunk.first_sequence - 1 + number * self.batch_size
        end = min(start + self.batch_size, chunk.first_sequence - 1 + chunk.size)
        documents = list(usable_documents(list(self.run.domains.all())).select_related("domain")[start:end])
        if start >= end or not documents:
            return StepResult(drafts=[], stop_reason=self._used_up())
        instructions = yield [
            self.call(
                number,
                f"instruction:{document.pk}",
                system=INSTRUCTION_SYSTEM,
                user=instruction_prompt(document.text),
                schema=INSTRUCTION_SCHEMA,
                template=PROMPT_VERSION,
                context={"task": "instruction", "text": document.text},
            )
            for document in documents
        ]
        written = [
            (document, reply, str(reply.completion.data["instruction"]).strip())
            for document, reply in zip(documents, instructions, strict=True)
            if reply.ok and str(reply.completion.data["instruction"]).strip()
        ]
        ratings = yield [
            self.call(
                number,
                f"curation:{document.pk}",
                system=CURATION_SYSTEM,
                user=curation_prompt(instruction, document.text),
                schema=CURATION_SCHEMA,
                template=PROMPT_VERSION,
                temperature=0.0,
                context={"task": "curation", "instruction": instruction, "answer": document.text},
            )
            for document, _reply, instruction in written
        ]
        drafts = []
        for (document, reply, instruction), rating in zip(written, ratings, strict=True):
            if not rating.ok:
                continue
            score, kept = curation_verdict(rating.completion.data.get("score"), threshold)
            reason = str(rating.completion.data.get("reason", ""))
            draft = Draft(
                instruction=instruction,
                output=document.text,
                domain=document.domain,
                provenance={
                    "prompt_template": PROMPT_VERSION,
                    "document": {"id": document.pk, "title": document.title},
                    "self_curation": {"score": score, "threshold": threshold, "reason": reason},
                    "calls": {"instruction": call_provenance(reply), "curation": call_provenance(rating)},
                },
            )
            if not kept:
                draft.filter_reason = "self_curation"
                draft.filter_message = (
                    f"Self-curation score {score} is below {threshold}"
                    if score
                    else "No usable self-curation score"
                )[:200]
                draft.filter_score = score
                draft.filter_evidence = {"score": score, "threshold": threshold, "reason": reason}
            drafts.append(draft)
        return StepResult(drafts=drafts)
