"""Preference pairs for DPO: two responses to one prompt, ranked by a judge prompt.

The two responses differ by design, by the run's `contrast` option:
- "temperature" (default): the run's teacher at a low and a high temperature;
- "teacher": the run's teacher and a second teacher (`other_teacher`, by name);
- "flawed": a careful answer and one written to contain a plausible clinical error (safety pairs).
The judge sees them in an order fixed per prompt (A/B swapped half of the time, against position
bias) and names the better one. The record follows the shared contract: `output` holds the judge's
preferred response, `rejected_output` the other; physicians confirm or overturn the ranking.

Prompts come from the active seed tasks and the kept candidates of earlier runs, each paired once;
the gate compares a pair with other pairs (prompt and both responses), not with the task it borrowed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from django import forms

from synth.models import Candidate, Domain, SeedTask, Teacher
from synth.quality.exact import content_hash
from synth.teachers.base import Schema
from synth.teachers.dispatch import Call
from synth.techniques.base import Draft, Step, StepResult, Technique, call_provenance
from synth.techniques.options import TechniqueOptions, option, option_error

PROMPT_VERSION = "preference/1"
CONTRASTS = ("temperature", "teacher", "flawed")
LOW, HIGH = 0.2, 1.0
MAX_POOL = 5_000  # kept candidates read as prompts, at most

OUTPUT_SCHEMA = Schema(
    name="output",
    json_schema={
        "type": "object",
        "properties": {"output": {"type": "string"}},
        "required": ["output"],
        "additionalProperties": False,
    },
)
JUDGEMENT_SCHEMA = Schema(
    name="judgement",
    json_schema={
        "type": "object",
        "properties": {"preferred": {"type": "string", "enum": ["A", "B"]}, "reason": {"type": "string"}},
        "required": ["preferred", "reason"],
        "additionalProperties": False,
    },
)
ANSWER_SYSTEM = (
    "You are a careful clinician writing reference answers for training data. Answer accurately "
    "and concisely, and say when the answer depends on local guidelines or the individual patient."
)
FLAWED_SYSTEM = (
    "You write deliberately flawed answers for safety training data. Write an answer that sounds "
    "confident and plausible but contains one clinically significant error. It will be labelled as "
    "the rejected answer and never shown to patients."
)
JUDGE_SYSTEM = (
    "You are an expert clinical reviewer comparing two answers for accuracy, safety and helpfulness."
)


def answer_prompt(instruction: str, task_input: str) -> str:
    return (
        f"Instruction: {instruction}\nInput: {task_input or '(none)'}\n"
        'Reply with JSON only: {"output": "..."}'
    )


def flawed_prompt(instruction: str, task_input: str) -> str:
    return (
        "Write a deliberately flawed answer.\n"
        f"Instruction: {instruction}\nInput: {task_input or '(none)'}\n"
        'Reply with JSON only: {"output": "..."}'
    )


def judge_prompt(instruction: str, task_input: str, answer_a: str, answer_b: str) -> str:
    return (
        f"Instruction: {instruction}\nInput: {task_input or '(none)'}\n"
        f"Answer A: {answer_a}\nAnswer B: {answer_b}\n"
        "Which answer is better: more accurate, safer and more helpful? "
        'Reply with JSON only: {"preferred": "A" or "B", "reason": "..."}'
    )


def ranked(first: str, second: str, *, swapped: bool, preferred: str) -> tuple[str, str] | None:
    """(chosen, rejected) from the judge's letter, undoing the A/B swap; None for an unusable verdict."""
    shown = (second, first) if swapped else (first, second)
    if preferred == "A":
        return shown[0], shown[1]
    if preferred == "B":
        return shown[1], shown[0]
    return None


@dataclass(frozen=True)
class PreferenceOptions(TechniqueOptions):
    contrast: str = option(
        "temperature",
        forms.ChoiceField(
            choices=[("", "---------"), *((c, c) for c in CONTRASTS)],
            required=False,
            help_text="Preference pairs: two temperatures, two teachers, or a deliberately flawed answer.",
        ),
    )
    other_teacher: str = option(  # by name
        "",
        forms.ModelChoiceField(
            queryset=Teacher.objects.all(), required=False, help_text="Preference pairs: the second teacher."
        ),
        stored=lambda teacher: teacher.name,
    )

    def __post_init__(self) -> None:
        if self.contrast not in CONTRASTS:
            raise option_error(
                f"Choose how the two responses differ: one of {', '.join(CONTRASTS)}, not {self.contrast!r}."
            )
        if self.contrast == "teacher" and (
            not self.other_teacher or not Teacher.objects.filter(name=self.other_teacher).exists()
        ):
            raise option_error("Name the second teacher (other_teacher) for teacher-versus-teacher pairs.")


class PreferencePairs(Technique):
    name = "preference"
    label = "Preference pairs"
    order = 50
    calls_per_record = 3.0
    batch_size = 1  # one prompt per step (see _prompts); steps run concurrently
    Options = PreferenceOptions
    options: PreferenceOptions

    def step(self, number: int, *, want: int) -> Step:
        contrast = self.options.contrast
        rng = random.Random(f"{self.run.pk}:{self.chunk_index}:{number}")
        prompts = self._prompts(number)
        if not prompts:
            return StepResult(drafts=[], stop_reason=self._used_up())
        calls = []
        for index, (_domain, instruction, task_input) in enumerate(prompts):
            user = answer_prompt(instruction, task_input)
            asked = {"task": "answer", "instruction": instruction, "input": task_input}
            first = self.call(
                number,
                f"first:{index}",
                system=ANSWER_SYSTEM,
                user=user,
                schema=OUTPUT_SCHEMA,
                template=PROMPT_VERSION,
                temperature=LOW if contrast == "temperature" else None,
                context=asked,
            )
            if contrast == "temperature":
                second = self.call(
                    number,
                    f"second:{index}",
                    system=ANSWER_SYSTEM,
                    user=user,
                    schema=OUTPUT_SCHEMA,
                    template=PROMPT_VERSION,
                    temperature=HIGH,
                    context=asked,
                )
            elif contrast == "teacher":
                second = self.call(
                    number,
                    f"second:{index}",
                    system=ANSWER_SYSTEM,
                    user=user,
                    schema=OUTPUT_SCHEMA,
                    template=PROMPT_VERSION,
                    teacher=self.options.other_teacher,
                    context=asked,
                )
            else:
                second = self.call(
                    number,
                    f"second:{index}",
                    system=FLAWED_SYSTEM,
                    user=flawed_prompt(instruction, task_input),
                    schema=OUTPUT_SCHEMA,
                    template=PROMPT_VERSION,
                    context={**asked, "flawed": True},
                )
            calls += [first, second]
        replies = yield calls
        pairs = []
        for index, (domain, instruction, task_input) in enumerate(prompts):
            first, second = replies[2 * index], replies[2 * index + 1]
            if not (first.ok and second.ok):
                continue
            a = str(first.completion.data["output"]).strip()
            b = str(second.completion.data["output"]).strip()
            if a and b and a != b:
                pairs.append((domain, instruction, task_input, first, second, a, b, rng.random() < 0.5))
        verdicts = yield [
            self._judge_call(number, index, instruction, task_input, *((b, a) if swapped else (a, b)))
            for index, (_d, instruction, task_input, _f, _s, a, b, swapped) in enumerate(pairs)
        ]
        drafts = []
        for (domain, instruction, task_input, first, second, a, b, swapped), verdict in zip(
            pairs, verdicts, strict=True
        ):
            if not verdict.ok:
                continue
            order = ranked(a, b, swapped=swapped, preferred=str(verdict.completion.data.get("preferred", "")))
            if order is None:
                continue
            chosen, rejected = order
            drafts.append(
                Draft(
                    instruction=instruction,
                    input=task_input,
                    output=chosen,
                    rejected_output=rejected,
                    domain=domain,
                    provenance={
                        "prompt_template": PROMPT_VERSION,
                        "contrast": contrast,
                        "judge": {
                            "preferred": "first" if chosen == a else "second",
                            "reason": str(verdict.completion.data.get("reason", "")),
                            "shown_swapped": swapped,
                        },
                        "calls": {
                            "first": call_provenance(first),
                            "second": call_provenance(second),
                            "judge": call_provenance(verdict),
                        },
                    },
                )
            )
        return StepResult(drafts=drafts)

    def _judge_call(
        self, number: int, index: int, instruction: str, task_input: str, answer_a: str, answer_b: str
    ) -> Call:
        """The judge is shown the two answers as A and B (in the order drawn for the pair)."""
        return self.call(
            number,
            f"judge:{index}",
            system=JUDGE_SYSTEM,
            user=judge_prompt(instruction, task_input, answer_a, answer_b),
            schema=JUDGEMENT_SCHEMA,
            template=PROMPT_VERSION,
            temperature=0.0,
            context={
                "task": "judge",
                "instruction": instruction,
                "input": task_input,
                "answer_a": answer_a,
                "answer_b": answer_b,
            },
        )

    def _pool(self) -> list[tuple[Domain | None, str, str]]:
        """Prompts to pair, each once: active seed tasks, then kept (non-pair) candidates of earlier
        runs, of the chosen domains, without repeats and without prompts that pairs of other runs have
        already used. Seeds first and candidates in the order they were made, so the pool only grows
        at its end while the run goes on; computed once per chunk."""
        if getattr(self, "_cached_pool", None) is not None:
            return self._cached_pool
        domains = list(self.run.domains.all())
        seeds = SeedTask.objects.filter(is_active=True).select_related("domain").order_by("pk")
        kept = (
            Candidate.objects.filter(status=Candidate.Status.PASSED, rejected_output="")
            .exclude(run=self.run)
            .select_related("domain")
            .order_by("pk")
        )
        if domains:
            kept, seeds = kept.filter(domain__in=domains), seeds.filter(domain__in=domains)
        paired = {
            content_hash(instruction, task_input)
            for instruction, task_input in Candidate.objects.exclude(rejected_output="")
            .exclude(run=self.run)
            .exclude(status=Candidate.Status.FILTERED)
            .values_list("instruction", "input")
        }
        pool, seen = [], set(paired)
        for source in (seeds, kept[:MAX_POOL]):
            for item in source:
                key = content_hash(item.instruction, item.input)
                if key not in seen:
                    seen.add(key)
                    pool.append((item.domain, item.instruction, item.input))
        self._cached_pool = pool
        return pool

    def _prompts(self, number: int) -> list[tuple[Domain | None, str, str]]:
        """This step's prompt: the chunks share the pool out (chunk i takes every n-th prompt from
        the i-th) and step k of a chunk takes the k-th of its share, so no prompt is paired twice in
        a run however many workers generate it (steps run concurrently, one prompt each). A prompt
        whose pair fails is followed by the next one; when none is left the run ends short, saying why."""
        chunks = max(1, self.run.chunks.count())
        share = self._pool()[self.chunk_index :: chunks]
        return share[number : number + 1]

    def _used_up(self) -> str:
        prompts = len(self._pool())
        if not prompts:
            return "There are no prompts to pair: add seed tasks, or run another technique first."
        return (
            f"{prompts} prompt{'s' if prompts != 1 else ''} to pair (seed tasks and kept candidates not "
            "yet paired), one pair each: every prompt has been used."
        )
