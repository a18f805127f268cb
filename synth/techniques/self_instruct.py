"""Self-Instruct (Wang et al., 2023): new tasks from sampled seed tasks, then an answer for each."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from synth.knowledge import icd10
from synth.models import Candidate, Domain, SeedTask
from synth.quality.novelty import SELF_INSTRUCT_THRESHOLD, NoveltyPool
from synth.teachers.base import Schema
from synth.techniques.base import Discard, Draft, Step, StepResult, Technique, call_provenance
from synth.techniques.options import TechniqueOptions, option, option_error

PROMPT_VERSION = "self_instruct/2"
# The paper prompts with 6 human-written and 2 machine-generated tasks; our seed pools are smaller.
HUMAN_EXAMPLES = 3
MACHINE_EXAMPLES = 2

TASKS_SCHEMA = Schema(
    name="tasks",
    json_schema={
        "type": "object",
        "properties": {
            "tasks": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"instruction": {"type": "string"}, "input": {"type": "string"}},
                    "required": ["instruction", "input"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["tasks"],
        "additionalProperties": False,
    },
)
OUTPUT_SCHEMA = Schema(
    name="output",
    json_schema={
        "type": "object",
        "properties": {"output": {"type": "string"}},
        "required": ["output"],
        "additionalProperties": False,
    },
)

TASKS_SYSTEM = (
    "You write instruction-tuning tasks for clinical language models. Tasks must be answerable "
    "from general medical knowledge, contain no patient identifiers, and need no images or files."
)
OUTPUT_SYSTEM = (
    "You are a careful clinician writing reference answers for training data. Answer accurately "
    "and concisely, and say when the answer depends on local guidelines or the individual patient."
)

# The paper drops tasks a text-only model cannot do.
# ("chart" alone is the patient's record in clinical writing; only drawn charts count.)
NEEDS_MEDIA = re.compile(
    r"\b(image|images|picture|photo|photograph|graph|diagram|(bar|pie|flow) ?chart|flowchart|draw|plot|"
    r"video|audio|file|files|attached|attachment|x-ray film)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Example:
    instruction: str
    input: str


def tasks_prompt(domain: Domain | None, examples: list[Example], want: int) -> str:
    lines = []
    if domain is not None:
        lines.append(f"Clinical domain: {domain.name}")
        if domain.icd10_chapter:
            lines.append(
                f"ICD-10-CM chapter: {domain.icd10_chapter} ({icd10.chapter_title(domain.icd10_chapter)})"
            )
    lines.append("Here are example tasks:")
    for number, example in enumerate(examples, start=1):
        lines.append(f"Task {number}: {example.instruction}")
        lines.append(f"Input {number}: {example.input or '(none)'}")
    lines.append(
        f"Write {want} new tasks for this domain that differ from the examples in topic and in form. "
        'Reply with JSON only: {"tasks": [{"instruction": "...", "input": "..."}]} '
        '(use "" when a task needs no input).'
    )
    return "\n".join(lines)


def output_prompt(instruction: str, task_input: str) -> str:
    return (
        f"Instruction: {instruction}\nInput: {task_input or '(none)'}\n"
        'Reply with JSON only: {"output": "..."}'
    )


@dataclass(frozen=True)
class SelfInstructOptions(TechniqueOptions):
    # Not on the launch form (`generate --option rouge_l_threshold=0.8`).
    rouge_l_threshold: float = option(SELF_INSTRUCT_THRESHOLD)  # the paper's 0.7

    def __post_init__(self) -> None:
        value = self.rouge_l_threshold
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
            raise option_error(
                f"The ROUGE-L threshold must be a number above 0 and at most 1, not {value!r}."
            )


def screen_instruction(instruction: str, pool: NoveltyPool, *, threshold: float) -> Discard | None:
    """The paper's filters on a new instruction: no images or files, not too close to the pool."""
    if not instruction:
        return Discard("empty_instruction", instruction)
    if media := NEEDS_MEDIA.search(instruction):
        return Discard("needs_media", instruction, {"word": media.group(0)})
    match = pool.best_match(instruction)
    if match.score > threshold:
        return Discard(
            "rouge_l_novelty",
            instruction,
            {"rouge_l": match.score, "threshold": threshold, "most_similar": match.text},
        )
    return None


class SelfInstruct(Technique):
    name = "self_instruct"
    label = "Self-Instruct"
    order = 10
    Options = SelfInstructOptions
    options: SelfInstructOptions

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.threshold = float(self.options.rouge_l_threshold)
        self._pool: NoveltyPool | None = None

    @property
    def pool(self) -> NoveltyPool:
        """The task pool: every active seed task and every instruction the run has kept so far."""
        if self._pool is None:
            seeds = SeedTask.objects.filter(is_active=True).values_list("instruction", flat=True)
            kept = Candidate.objects.filter(run=self.run).values_list("instruction", flat=True)
            self._pool = NoveltyPool([*seeds, *kept])
        return self._pool

    def step(self, number: int, *, want: int) -> Step:
        rng = random.Random(f"{self.run.pk}:{self.chunk_index}:{number}")
        domains = list(self.run.domains.all()) or list(Domain.objects.all())
        domain = rng.choice(domains) if domains else None
        examples = self._examples(domain, rng)

        # Ask for more than needed: some new tasks will fall to the filters below.
        asked = max(want, self.batch_size)
        prompt = tasks_prompt(domain, examples, asked)
        [tasks] = yield [
            self.call(
                number,
                "tasks",
                system=TASKS_SYSTEM,
                user=prompt,
                schema=TASKS_SCHEMA,
                template=PROMPT_VERSION,
                seed=rng.randrange(2**31),
                by_slot=True,
                context={
                    "task": "tasks",
                    "count": asked,
                    "icd10_chapter": domain.icd10_chapter if domain else "",
                },
            )
        ]
        if not tasks.ok:
            return StepResult(drafts=[])

        accepted, discarded = [], []
        for task in tasks.completion.data["tasks"]:
            if len(accepted) >= want:
                break
            instruction = str(task.get("instruction", "")).strip()
            task_input = str(task.get("input", "")).strip()
            if discard := screen_instruction(instruction, self.pool, threshold=self.threshold):
                discarded.append(discard)
                continue
            self.pool.add(instruction)  # accepted instructions join the pool at once, as in the paper
            accepted.append((instruction, task_input))

        answers = yield [
            self.call(
                number,
                "output",
                system=OUTPUT_SYSTEM,
                user=output_prompt(instruction, task_input),
                schema=OUTPUT_SCHEMA,
                template=PROMPT_VERSION,
                context={"task": "answer", "instruction": instruction, "input": task_input},
            )
            for instruction, task_input in accepted
        ]
        drafts = []
        for (instruction, task_input), answer in zip(accepted, answers, strict=True):
            if not answer.ok:
                continue  # a failed answer costs one task, not the whole step
            output = str(answer.completion.data["output"]).strip()
            if not output:
                continue
            drafts.append(
                Draft(
                    instruction=instruction,
                    input=task_input,
                    output=output,
                    domain=domain,
                    provenance={
                        "prompt_template": PROMPT_VERSION,
                        "examples": [example.instruction for example in examples],
                        "instruction_prompt": prompt,
                        "calls": {"tasks": call_provenance(tasks), "output": call_provenance(answer)},
                        "rouge_l_threshold": self.threshold,
                    },
                )
            )
        return StepResult(drafts=drafts, discarded=discarded)

    def _examples(self, domain: Domain | None, rng: random.Random) -> list[Example]:
        """Human seed tasks plus a few the run already generated, as the paper mixes them."""
        seeds = SeedTask.objects.filter(is_active=True)
        generated = Candidate.objects.filter(run=self.run, status=Candidate.Status.PASSED)
        if domain is not None:
            seeds, generated = seeds.filter(domain=domain), generated.filter(domain=domain)
        human = [Example(s.instruction, s.input) for s in seeds.only("instruction", "input")]
        machine = [Example(c.instruction, c.input) for c in generated.only("instruction", "input")]
        return rng.sample(human, min(HUMAN_EXAMPLES, len(human))) + rng.sample(
            machine, min(MACHINE_EXAMPLES, len(machine))
        )
