"""Evol-Instruct (Xu et al., 2023, WizardLM): instructions made harder or broader over several rounds.

Each step takes one root instruction (a seed task or a kept candidate of the run's domains) and
evolves it for the run's number of rounds. Each round applies one operation: in-depth (add
constraints, deepen, concretize, increase reasoning steps, complicate the input) or in-breadth (a
new, rarer task in the same domain); the teacher then answers the evolved instruction. The paper's
elimination rules drop an evolution; the next round evolves its parent again, as the paper puts a
failed instruction back in the pool. Every kept record carries its lineage and depth.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from django import forms

from synth.models import Candidate, Domain, SeedTask
from synth.quality.novelty import rouge_l, tokenize
from synth.teachers.base import Schema
from synth.techniques.base import Discard, Draft, Step, StepResult, Technique, call_provenance
from synth.techniques.options import TechniqueOptions, option, option_error

PROMPT_VERSION = "evol_instruct/1"
DEFAULT_ROUNDS = 3  # the paper evolves four rounds; each round here is one record per root

EVOLVED_SCHEMA = Schema(
    name="evolved",
    json_schema={
        "type": "object",
        "properties": {"instruction": {"type": "string"}, "input": {"type": "string"}},
        "required": ["instruction", "input"],
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

SYSTEM = "You are a prompt rewriter for clinical instruction-tuning data. Never add patient identifiers."
ANSWER_SYSTEM = (
    "You are a careful clinician writing reference answers for training data. Answer accurately "
    "and concisely, and say when the answer depends on local guidelines or the individual patient."
)

# The paper's in-depth prompts, shortened; each keeps the paper's "#Given Prompt#" scaffold.
IN_DEPTH = {
    "add_constraints": "Add one more constraint or requirement to #The Given Prompt#.",
    "deepen": "If #The Given Prompt# contains inquiries about certain issues, increase their depth and breadth.",
    "concretize": "Replace general concepts in #The Given Prompt# with more specific clinical concepts.",
    "increase_reasoning": "If #The Given Prompt# can be solved with a few simple thinking processes, rewrite "
    "it to explicitly request multiple-step reasoning.",
    "complicate_input": "Add a short, realistic, de-identified clinical input (e.g. a vignette or lab values) "
    "that the task must use.",
}
IN_BREADTH = "in_breadth"
OPERATIONS = (*IN_DEPTH, IN_BREADTH)

# Elimination rule 4: words of the evolving prompt's scaffold copied into the new instruction.
SCAFFOLD = re.compile(
    r"given prompt|rewritten prompt|#\s*(given|rewritten|created) prompt\s*#|created prompt", re.I
)
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "i",
        "if",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "so",
        "that",
        "the",
        "their",
        "them",
        "there",
        "these",
        "this",
        "those",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "which",
        "who",
        "will",
        "with",
        "you",
        "your",
    ]
)


def evolve_prompt(operation: str, instruction: str, task_input: str, domain: Domain | None) -> str:
    where = f" in {domain.name}" if domain else ""
    if operation == IN_BREADTH:
        task = (
            "Draw inspiration from #The Given Prompt# to create a brand-new prompt. It should belong to the "
            f"same clinical domain{where} but be more rare. Length and difficulty should be similar."
        )
    else:
        task = (
            "Rewrite #The Given Prompt# into a more complex version that a clinician would still find "
            f"reasonable and answerable. {IN_DEPTH[operation]} Add at most 20 words."
        )
    return (
        f"Operation: {operation}\n{task}\n"
        "Do not use the words 'given prompt' or 'rewritten prompt' in your answer.\n"
        f"#The Given Prompt#:\n{instruction}\n#Given Input#:\n{task_input or '(none)'}\n"
        'Reply with JSON only: {"instruction": "...", "input": "..."}'
    )


def answer_prompt(instruction: str, task_input: str) -> str:
    return (
        f"Instruction: {instruction}\nInput: {task_input or '(none)'}\n"
        'Reply with JSON only: {"output": "..."}'
    )


def elimination_reason(parent: str, child: str, response: str) -> tuple[str, dict] | None:
    """The paper's four elimination rules, in order; None when the evolution is kept.

    Rule 1 ("no information gain") is judged by ChatGPT in the paper; here, without a second call,
    an evolution gains nothing when it adds no new word to its parent or is nearly the same text
    (ROUGE-L of 0.9 or more)."""
    new_words = set(tokenize(child)) - set(tokenize(parent)) - STOP_WORDS
    similarity = rouge_l(parent, child)
    if not new_words or similarity >= 0.9:
        return "no_information_gain", {"rouge_l": similarity, "new_words": sorted(new_words)}
    words = tokenize(response)
    if "sorry" in words and len(words) < 80:
        return "response_is_refusal", {"response": response}
    if not words or all(word in STOP_WORDS for word in words):
        return "response_is_empty", {"response": response}
    if match := SCAFFOLD.search(child):
        return "copied_scaffold", {"words": match.group(0)}
    return None


@dataclass(frozen=True)
class EvolInstructOptions(TechniqueOptions):
    rounds: int = option(
        DEFAULT_ROUNDS,
        forms.IntegerField(
            min_value=1, max_value=8, required=False, help_text="Evol-Instruct: evolution rounds (default 3)."
        ),
    )

    def __post_init__(self) -> None:
        value = self.rounds
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 8:
            raise option_error(f"Evol-Instruct needs 1 to 8 rounds, not {value!r}.")


class EvolInstruct(Technique):
    name = "evol_instruct"
    label = "Evol-Instruct"
    order = 20
    calls_per_record = 2.2
    Options = EvolInstructOptions
    options: EvolInstructOptions

    @property
    def batch_size(self) -> int:  # one root per step gives up to one record per round
        return self.options.rounds

    def step(self, number: int, *, want: int) -> Step:
        rng = random.Random(f"{self.run.pk}:{self.chunk_index}:{number}")
        domain, root = self._root(rng)
        if root is None:
            return StepResult(drafts=[], stop_reason="There is no instruction to evolve: add seed tasks.")
        parent_instruction, parent_input = root
        lineage: list[dict] = [{"operation": "root", "instruction": parent_instruction}]
        drafts, discarded = [], []
        for round_number in range(1, self.options.rounds + 1):
            if len(drafts) >= want:
                break
            operation = rng.choice(OPERATIONS)
            [evolved] = yield [
                self.call(
                    number,
                    f"evolve:{round_number}",
                    system=SYSTEM,
                    user=evolve_prompt(operation, parent_instruction, parent_input, domain),
                    schema=EVOLVED_SCHEMA,
                    template=PROMPT_VERSION,
                    seed=rng.randrange(2**31),
                    context={
                        "task": "evolve",
                        "operation": operation,
                        "instruction": parent_instruction,
                        "input": parent_input,
                    },
                )
            ]
            if not evolved.ok:
                continue
            child = str(evolved.completion.data["instruction"]).strip()
            child_input = str(evolved.completion.data["input"]).strip()
            [answer] = yield [
                self.call(
                    number,
                    f"answer:{round_number}",
                    system=ANSWER_SYSTEM,
                    user=answer_prompt(child, child_input),
                    schema=OUTPUT_SCHEMA,
                    template=PROMPT_VERSION,
                    context={"task": "answer", "instruction": child, "input": child_input},
                )
            ]
            if not answer.ok:
                continue
            response = str(answer.completion.data["output"]).strip()
            if rule := elimination_reason(parent_instruction, child, response):
                reason, evidence = rule
                discarded.append(
                    Discard(reason, child, {**evidence, "operation": operation, "parent": parent_instruction})
                )
                continue  # the parent stays in play for the next round
            lineage = [*lineage, {"operation": operation, "instruction": child}]
            drafts.append(
                Draft(
                    instruction=child,
                    input=child_input,
                    output=response,
                    domain=domain,
                    provenance={
                        "prompt_template": PROMPT_VERSION,
                        "evolution": {"operation": operation, "depth": len(lineage) - 1, "lineage": lineage},
                        "calls": {"evolve": call_provenance(evolved), "answer": call_provenance(answer)},
                    },
                )
            )
            parent_instruction, parent_input = child, child_input
        return StepResult(drafts=drafts, discarded=discarded)

    def _root(self, rng: random.Random) -> tuple[Domain | None, tuple[str, str] | None]:
        """A kept candidate of the chosen domains when there are some (the evolving pool), else a seed."""
        domains = list(self.run.domains.all()) or list(Domain.objects.all())
        domain = rng.choice(domains) if domains else None
        kept = Candidate.objects.filter(status=Candidate.Status.PASSED, rejected_output="").exclude(
            run=self.run
        )
        seeds = SeedTask.objects.filter(is_active=True)
        if domain is not None:
            kept, seeds = kept.filter(domain=domain), seeds.filter(domain=domain)
        pool = list(kept.values_list("instruction", "input")[:500]) or list(
            seeds.values_list("instruction", "input")
        )
        return domain, (rng.choice(pool) if pool else None)
