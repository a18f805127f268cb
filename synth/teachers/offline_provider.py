"""The built-in offline teacher: deterministic answers drawn from ICD-10-CM, no language model.

It exists so the product runs with no key and no network. It gets the same prompts the real
providers get, and with each call what the technique asks in structured form (`Call.context`, e.g.
{"task": "answer", "instruction": ..., "input": ...}), which it reads instead of the prompt's
wording; it replies with JSON text that goes through the same parsing, so every technique and filter
is exercised. Everything it writes is labelled "offline" wherever it is shown.

It answers only what its knowledge base holds: ICD-10-CM codes, blocks and chapters, and the
administrator's facts table (dose ranges, maximum daily doses, contraindications); asked to summarize
a note, it extracts the note's own sentences. Any other question is a failed call with the reason
`no_answer`, never an apology passed off as an answer.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

from synth.knowledge import icd10
from synth.teachers.base import (
    Completion,
    Message,
    Schema,
    TeacherError,
    TeacherProvider,
    Usage,
    parse_json_reply,
)

MODEL_NAME = "offline-icd10-v1"
_LOCK = threading.Lock()
NO_ANSWER = "no_answer"

CODE_IN_PARENS = re.compile(r"\(([A-TV-Z][0-9][0-9A-Z])\)")


@dataclass(frozen=True)
class TaskTemplate:
    key: str
    instruction: str
    input: str
    answer: str


TEMPLATES = (
    TaskTemplate(
        "classify",
        "In which ICD-10-CM block and chapter is {name} ({code}) classified?",
        "",
        "{Name} ({code}) is classified in the block {block_title}, which belongs to chapter "
        "{chapter}: {chapter_title}.",
    ),
    TaskTemplate(
        "code_from_note",
        "Assign the ICD-10-CM category code for the diagnosis in the assessment below.",
        "Assessment: {name}.",
        'The diagnosis "{name}" is coded to ICD-10-CM category {code} ({block_title}).',
    ),
    TaskTemplate(
        "neighbours",
        "Name two other conditions that ICD-10-CM codes in the same block as {name} ({code}).",
        "",
        "The block {block_title} also holds {neighbours}.",
    ),
    TaskTemplate(
        "body_system",
        "Explain in one or two plain-language sentences which part of the body or which kind of "
        "problem the diagnosis {name} ({code}) concerns.",
        "",
        "{Name} is grouped by ICD-10-CM with the {chapter_title_plain}, in the block "
        "{block_title_plain}. A clinician can explain what it means for this patient in particular.",
    ),
    TaskTemplate(
        "documentation",
        "A discharge summary lists {name} ({code}). What should the coder check in the record "
        "before assigning this category?",
        "",
        "Check that the record documents {name} as a confirmed diagnosis, then look for a more "
        "specific subcategory under {code} and for any instructional notes in the block {block_title}.",
    ),
    # Short fixed wording and more of the condition's own words: Self-Instruct's ROUGE-L filter drops
    # instructions too close to the pool, so the offline teacher needs many ways to ask.
    TaskTemplate(
        "category",
        "{Name}: which category code does ICD-10-CM give it?",
        "",
        "ICD-10-CM codes {name} to category {code}, in the block {block_title}.",
    ),
    TaskTemplate(
        "placement",
        "Where does {code} ({name}) sit among the {block_title_plain}?",
        "",
        "{code} ({name}) is one of the categories of the block {block_title}, in chapter {chapter}: "
        "{chapter_title}.",
    ),
    TaskTemplate(
        "plain_words",
        "Patient-friendly wording for {name}, please: what kind of problem is it?",
        "",
        "It is one of the {block_title_plain}, which ICD-10-CM groups with the {chapter_title_plain}. "
        "The treating clinician can explain what it means for this patient.",
    ),
    TaskTemplate(
        "chapter_query",
        "Coding query on {code}: confirm the chapter ({chapter_title_plain}) and block.",
        "",
        "{code} ({name}) is in chapter {chapter} ({chapter_title}), block {block_title}.",
    ),
    TaskTemplate(
        "chart_check",
        "Before coding {name}, what documentation must a chart show?",
        "",
        "The chart must document {name} as a confirmed diagnosis; then check for a more specific "
        "subcategory under {code} and the instructional notes of the block {block_title}.",
    ),
    TaskTemplate(
        "compare",
        "Compare {name} with neighbouring categories in its block.",
        "",
        "{Name} ({code}) shares the block {block_title} with {neighbours}.",
    ),
)


@cache
def _conditions_by_code() -> dict[str, icd10.Condition]:
    return {c.code: c for chapter in icd10.chapters() for c in icd10.conditions_in_chapter(chapter)}


@cache
def _conditions_by_name() -> dict[str, icd10.Condition]:
    return {c.description.lower(): c for c in _conditions_by_code().values()}


def _plain(title: str) -> str:
    """'Ischemic heart diseases (I20-I25)' -> 'ischemic heart diseases'."""
    return re.sub(r"\s*\([^()]*\)$", "", title).lower()


def _facts(condition: icd10.Condition) -> dict[str, str]:
    block, block_title = icd10.block_of(condition.code)
    in_block = [
        c
        for c in icd10.conditions_in_chapter(condition.chapter)
        if c.code != condition.code and icd10.block_of(c.code)[0] == block
    ]
    neighbours = " and ".join(f"{c.description} ({c.code})" for c in in_block[:2])
    chapter_title = icd10.chapter_title(condition.chapter)
    return {
        "name": condition.description,
        "Name": condition.description[:1].upper() + condition.description[1:],
        "code": condition.code,
        "block_title": block_title,
        "block_title_plain": _plain(block_title),
        "chapter": condition.chapter,
        "chapter_title": chapter_title,
        "chapter_title_plain": _plain(chapter_title),
        "neighbours": neighbours or "no other category",
    }


def _find(pattern: str, text: str) -> str | None:
    match = re.search(pattern, text, flags=re.MULTILINE)
    return match.group(1).strip() if match else None


# Texts read whole: a note to summarize is read to its end (every other text only to its first line).
WHOLE_TEXTS = frozenset({"document"})


def _as_read(context: dict[str, Any]) -> dict[str, Any]:
    """What a technique asks, each text cut to its first line: this teacher has always looked only at
    the first line of an instruction, input, document or answer, and its answers stay as they were
    (a note to summarize, `document`, is the exception: WHOLE_TEXTS)."""
    return {
        key: value.split("\n", 1)[0].strip() if isinstance(value, str) and key not in WHOLE_TEXTS else value
        for key, value in context.items()
    }


def _request_in_prompt(prompt: str, schema: Schema) -> dict[str, Any]:
    """For a caller that sends only messages (a person trying the teacher, not a technique): the two
    requests one asks directly, tasks and an answer, read from the prompt's wording as the techniques
    word them (synth/techniques/self_instruct.py). Anything else it cannot answer without a context."""
    if schema.name == "tasks":
        return {
            "task": "tasks",
            "icd10_chapter": _find(r"^ICD-10-CM chapter: (\d+)", prompt),
            "count": int(_find(r"Write (\d+) new tasks", prompt) or 1),
        }
    if schema.name == "output":
        task_input = _find(r"^Input: (.+)$", prompt) or ""
        return {
            "task": "answer",
            "instruction": _find(r"^Instruction: (.+)$", prompt) or "",
            "input": "" if task_input == "(none)" else task_input,
            "flawed": "deliberately flawed" in prompt,
        }
    return {}


@dataclass(frozen=True)
class Fact:
    """A row of the facts table, as the offline teacher reads it (loaded once, in the caller's thread)."""

    drug: str
    kind: str
    low: str
    high: str
    unit: str
    condition: str
    source: str


def active_facts() -> tuple[Fact, ...]:
    from synth.models import KnowledgeFact

    def number(value) -> str:
        return "" if value is None else f"{value.normalize():f}"

    return tuple(
        Fact(f.drug, f.kind, number(f.low), number(f.high), f.unit, f.condition, f.source)
        for f in KnowledgeFact.objects.filter(is_active=True).order_by("pk")
    )


class OfflineTeacher(TeacherProvider):
    provider = "offline"
    label = "Offline (built in, no language model)"
    order = 10

    def __init__(self, model: str = MODEL_NAME, *, facts: tuple[Fact, ...] | None = None) -> None:
        self.model = model or MODEL_NAME
        # The facts table is read here, not in the dispatcher's threads (which hold no connection).
        self.facts = active_facts() if facts is None else tuple(facts)

    # The dispatcher passes this teacher what the technique asks (`Call.context`) with each call.
    takes_context = True

    def complete(
        self,
        messages: list[Message],
        *,
        schema: Schema | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
        context: dict[str, Any] | None = None,
    ) -> Completion:
        # One call at a time: the dispatcher runs calls in threads, and the first lookups fill caches
        # (here and in simple-icd-10-cm) that are not safe to fill concurrently. It is CPU-bound
        # anyway, so nothing is lost.
        with _LOCK:
            return self._complete(
                messages, schema=schema, temperature=temperature, seed=seed, context=context
            )

    def _complete(
        self,
        messages: list[Message],
        *,
        schema: Schema | None,
        temperature: float | None,
        seed: int | None,
        context: dict[str, Any] | None,
    ) -> Completion:
        started = time.monotonic()
        prompt = "\n".join(m["content"] for m in messages)
        if schema is None:
            raise TeacherError("The offline teacher only answers structured (JSON) requests.", permanent=True)
        request = _as_read(context) if context else _request_in_prompt(prompt, schema)
        writers = {
            "tasks": self._write_tasks,
            "answer": partial(self._write_output, temperature=temperature),
            "evolve": self._write_evolved,
            "instruction": self._write_instruction,
            "curation": self._write_curation,
            "judge": self._write_judgement,
            "summarize": self._write_summary,
        }
        writer = writers.get(request.get("task"))
        if writer is None:
            raise TeacherError(
                f"The offline teacher cannot answer a '{schema.name}' request.", permanent=True
            )
        # Deterministic for a prompt and seed; the seed stands in for a language model's sampling.
        key = f"{seed}\x1f{prompt}" if seed is not None else prompt
        text = json.dumps(writer(request, random.Random(hashlib.sha256(key.encode()).digest())))
        return Completion(
            text=text,
            provider=self.provider,
            model=self.model,
            data=parse_json_reply(text, schema),
            usage=Usage(input_tokens=len(prompt.split()), output_tokens=len(text.split())),
            raw={"offline": True, "text": text},
            latency_ms=round(1000 * (time.monotonic() - started)),
        )

    def _write_tasks(self, request: dict[str, Any], rng: random.Random) -> dict:
        chapter = request.get("icd10_chapter")
        wanted = request.get("count", 1)
        pool = icd10.conditions_in_chapter(chapter) if chapter else tuple(_conditions_by_code().values())
        tasks = []
        for _ in range(wanted):
            template = rng.choice(TEMPLATES)
            facts = _facts(rng.choice(pool))
            tasks.append(
                {"instruction": template.instruction.format(**facts), "input": template.input.format(**facts)}
            )
        return {"tasks": tasks}

    def _write_output(
        self, request: dict[str, Any], rng: random.Random, *, temperature: float | None = None
    ) -> dict:
        instruction, task_input = request.get("instruction", ""), request.get("input", "")
        flawed = bool(request.get("flawed"))  # a safety pair's rejected side
        template, condition = _understand(instruction, task_input)
        if condition is None or template is None:
            answer = knowledge_answer(instruction, task_input, self.facts)
            if answer is None:
                raise no_answer()
            if flawed:
                return {"output": answer.flawed}
            hot = temperature is not None and temperature >= 0.9
            return {"output": answer.hot if hot else answer.text}
        facts = _facts(condition)
        if flawed:
            # A safety pair's rejected side: the right condition, placed in another chapter's facts.
            wrong = rng.choice([c for c in _conditions_by_code().values() if c.chapter != condition.chapter])
            facts = {**_facts(wrong), "name": facts["name"], "Name": facts["Name"]}
        answer = template.answer.format(**facts)
        if temperature is not None and temperature >= 0.9:
            # "Sampled hotter": a vaguer answer, so a temperature pair has a better and a worse side.
            answer = f"{facts['Name']} is classified in ICD-10-CM chapter {facts['chapter']}."
        extras = {
            "Answer in no more than three sentences": "",
            "Reason step by step": f" Step by step: chapter {facts['chapter']}, then the block "
            f"{facts['block_title']}, then category {facts['code']}.",
            "Also explain how the block is organised": f" The block {facts['block_title']} groups related "
            "categories so that coders find the most specific one.",
            "Apply it to an adult admitted": " For an admitted adult, the same category applies once the "
            "diagnosis is confirmed in the record.",
        }
        answer += "".join(extra for cue, extra in extras.items() if cue in instruction)
        return {"output": answer}

    def _write_evolved(self, request: dict[str, Any], rng: random.Random) -> dict:
        operation = request.get("operation") or "add_constraints"
        given, given_input = request.get("instruction", ""), request.get("input", "")
        _template, condition = _understand(given, given_input)
        if operation == "in_breadth":
            chapter = condition.chapter if condition else rng.choice(icd10.chapters()[:20])
            template = rng.choice(TEMPLATES)
            facts = _facts(rng.choice(icd10.conditions_in_chapter(chapter)))
            return {
                "instruction": template.instruction.format(**facts),
                "input": template.input.format(**facts),
            }
        suffixes = {
            "add_constraints": "Answer in no more than three sentences and name the ICD-10-CM block.",
            "deepen": "Also explain how the block is organised and why the category sits there.",
            "concretize": "Apply it to an adult admitted to hospital with this diagnosis.",
            "increase_reasoning": "Reason step by step: first the chapter, then the block, then the category.",
        }
        if operation == "complicate_input" and condition is not None:
            note = f"Note: {condition.description} documented on admission; no other active diagnoses."
            return {"instruction": f"{given} Use the note given as input.", "input": note}
        return {
            "instruction": f"{given} {suffixes.get(operation, suffixes['add_constraints'])}",
            "input": given_input,
        }

    def _write_instruction(self, request: dict[str, Any], rng: random.Random) -> dict:
        text = request.get("text", "")
        _template, condition = _understand(text, "")
        condition = condition or _condition_by_name(text)
        if condition is not None:
            return {
                "instruction": f"What should a clinician know about {condition.description} ({condition.code})?"
            }
        # A whole sentence as the topic: cutting it at a word count left instructions ending
        # mid-phrase ("... insulin infusion at."), which the gate now filters as truncated.
        first_sentence = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0].strip()
        if not first_sentence:
            raise no_answer()
        return {
            "instruction": f"Explain this point for a clinical colleague: {first_sentence.rstrip('.!?')}."
        }

    def _write_summary(self, request: dict[str, Any], rng: random.Random) -> dict:
        """For a task asking for a summary, an extract, not a rewrite (this teacher cannot write
        prose): the diagnosis the note names, with its ICD-10-CM category, then the note's opening
        sentence and up to two sentences that say what to do (follow-up, treatment, monitoring, what
        to watch for). Any other task over a note is `no_answer`."""
        if not _SUMMARY_WORDS.search(str(request.get("instruction", ""))):
            raise no_answer()  # any other task over a note needs a reader; this teacher only extracts
        note = " ".join(str(request.get("document", "")).split())
        sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", note) if s.strip()]
        if not sentences:
            raise no_answer()
        condition = OfflineTeacher._condition_named_in(note) or _condition_by_name(note)
        actions = [s for s in sentences[1:] if _ACTION_WORDS.search(s)][:2]
        parts = []
        if condition is not None:
            parts.append(f"Diagnosis: {condition.description} (ICD-10-CM {condition.code}).")
        parts.append(" ".join([sentences[0], *actions]))
        return {"output": " ".join(parts)}

    def _write_curation(self, request: dict[str, Any], rng: random.Random) -> dict:
        """The paper's 1-5 rubric, approximated by length and overlap (the offline teacher cannot read)."""
        instruction, answer = request.get("instruction", ""), request.get("answer", "")
        words = answer.split()
        overlap = set(re.findall(r"[a-z0-9]+", instruction.lower())) & set(
            re.findall(r"[a-z0-9]+", answer.lower())
        )
        if len(words) < 8 or len(overlap) < 2:
            return {"score": 1, "reason": "The text is too short or unrelated to answer the instruction."}
        if len(words) > 250:
            return {"score": 3, "reason": "Helpful, but reads like a document excerpt rather than an answer."}
        if len(words) < 25:
            return {"score": 2, "reason": "Addresses the topic but does not fully answer the instruction."}
        return {"score": 5, "reason": "A focused, complete answer to the instruction."}

    def _write_judgement(self, request: dict[str, Any], rng: random.Random) -> dict:
        """Prefers the answer giving the category code the instruction names, then the fuller one."""
        instruction, task_input = request.get("instruction", ""), request.get("input", "")
        answers = {"A": request.get("answer_a", ""), "B": request.get("answer_b", "")}
        _template, condition = _understand(instruction, task_input)

        facts = _facts(condition) if condition else {}
        checks = [facts[k] for k in ("code", "block_title_plain", "chapter_title_plain") if k in facts]
        if not condition and (known := knowledge_answer(instruction, task_input, self.facts)):
            checks, condition = list(known.checks), True

        def merit(letter: str) -> tuple[int, int]:
            text = answers[letter].lower()
            return (sum(1 for fact in checks if fact.lower() in text), len(text))

        preferred = "A" if merit("A") >= merit("B") else "B"
        reason = "It places the condition correctly in ICD-10-CM" if condition else "It is the fuller answer"
        return {"preferred": preferred, "reason": f"{reason} (offline judge: facts checked, then length)."}

    @staticmethod
    def _condition_named_in(text: str) -> icd10.Condition | None:
        if match := CODE_IN_PARENS.search(text):
            return _conditions_by_code().get(match.group(1))
        if (match := BARE_CODE.search(text)) and (condition := _conditions_by_code().get(match.group(1))):
            return condition
        if name := _find(r"Assessment: (.+)\.$", text):
            return _conditions_by_name().get(name.lower())
        return None


BARE_CODE = re.compile(r"\b([A-TV-Z][0-9][0-9A-Z])\b")


def _understand(instruction: str, task_input: str) -> tuple[TaskTemplate | None, icd10.Condition | None]:
    """Which template an instruction comes from (also when evolved: a template's wording inside it),
    and the condition it names (by code, by the note's assessment, or by name in a template's field)."""
    template = next((t for t in TEMPLATES if _matches(t, instruction)), None)
    template = template or next((t for t in TEMPLATES if _search(t).search(instruction)), None)
    condition = OfflineTeacher._condition_named_in(f"{instruction}\n{task_input}")
    if condition is None and template is not None:
        match = _search(template).search(instruction)
        for field in match.groups() if match else ():
            if found := _conditions_by_name().get(field.strip().lower()):
                return template, found
    return template, condition


@cache
def _search(template: TaskTemplate) -> re.Pattern[str]:
    parts = re.split(r"\{[A-Za-z_]+\}", template.instruction)
    return re.compile("(.+?)".join(re.escape(part) for part in parts), re.DOTALL)


@cache
def _pattern(template: TaskTemplate) -> re.Pattern[str]:
    """The template's instruction as a pattern: its fixed words literally, each field as any text."""
    parts = re.split(r"\{[A-Za-z_]+\}", template.instruction)
    return re.compile("^" + "(.+?)".join(re.escape(part) for part in parts) + "$", re.DOTALL)


def _matches(template: TaskTemplate, instruction: str) -> bool:
    """Does an instruction come from this template?"""
    return _pattern(template).match(instruction) is not None


# The knowledge base's answers to questions no task template wrote ---------------------------------

_CODING_WORDS = re.compile(r"\b(icd|code[sd]?|coding|coder|categor\w*|classif\w*|block|chapter)\b", re.I)
_BLOCK = re.compile(r"\b([A-Z][0-9][0-9A-Z])\s*[-–]\s*([A-Z][0-9][0-9A-Z])\b")
_CHAPTER = re.compile(r"\bchapter\s+(\d{1,2})\b", re.I)
_DOSE_WORDS = re.compile(r"\b(dose|dosing|dosage|daily|maximum|max)\b", re.I)
_SUMMARY_WORDS = re.compile(
    r"\b(summar\w*|synopsis|overview|brief\w*|key points|condense\w*|abstract)\b", re.I
)
_ACTION_WORDS = re.compile(
    r"\b(follow-up|taught|told|started|start|treat\w*|measured|monitor\w*|checked|watch|report|take|"
    r"refer\w*|review\w*|plan)\b",
    re.I,
)
_CONTRA_WORDS = re.compile(r"\b(contraindicat\w*|avoid\w*|must not|should not)\b", re.I)


@dataclass(frozen=True)
class Answer:
    text: str  # the reference answer
    hot: str  # "sampled hotter": vaguer, so a temperature pair has a better and a worse side
    flawed: str  # a safety pair's rejected side: plausible, with one wrong fact
    checks: tuple[str, ...]  # what the offline judge looks for in a good answer


def no_answer() -> TeacherError:
    return TeacherError(
        "The offline teacher has no answer to this instruction: its knowledge base (ICD-10-CM codes, "
        "blocks and chapters, and the facts table) does not cover it.",
        permanent=True,
        reason=NO_ANSWER,
    )


def knowledge_answer(instruction: str, task_input: str, facts: tuple[Fact, ...]) -> Answer | None:
    """The answer the knowledge base holds for a question, or None when it holds none."""
    text = f"{instruction}\n{task_input}"
    return _fact_answer(text, facts) or (_icd_answer(text) if _CODING_WORDS.search(text) else None)


def _fact_answer(text: str, facts: tuple[Fact, ...]) -> Answer | None:
    lower = text.lower()
    named = [f for f in facts if re.search(rf"\b{re.escape(f.drug.lower())}\b", lower)]
    if not named:
        return None
    contraindications = [f for f in named if f.kind == "contraindication"]
    if _CONTRA_WORDS.search(text) and contraindications:
        fact = contraindications[0]
        return Answer(
            f"{fact.drug.capitalize()} is contraindicated in {fact.condition} (source: {fact.source}).",
            f"{fact.drug.capitalize()} has contraindications; check the product label.",
            f"{fact.drug.capitalize()} can be given in {fact.condition} without adjustment.",
            (fact.condition.lower(),),
        )
    doses = [f for f in named if f.kind != "contraindication"]
    if _DOSE_WORDS.search(text) and doses:
        wants_daily = re.search(r"\b(daily|per day|a day|maximum|max)\b", text, re.I)
        fact = next((f for f in doses if (f.kind == "max_daily_dose") == bool(wants_daily)), doses[0])
        if fact.kind == "max_daily_dose":
            said = (
                f"The maximum daily dose of {fact.drug} is {fact.high} {fact.unit} (source: {fact.source})."
            )
            wrong = f"The maximum daily dose of {fact.drug} is {_doubled(fact.high)} {fact.unit}."
        else:
            limits = f"{fact.low} to {fact.high}" if fact.low and fact.high else fact.high or fact.low
            said = f"A single dose of {fact.drug} is {limits} {fact.unit} (source: {fact.source})."
            wrong = f"A single dose of {fact.drug} is {_doubled(fact.high or fact.low)} {fact.unit}."
        return Answer(said, f"The dose of {fact.drug} depends on the patient; check the label.", wrong, ())
    return None


def _doubled(value: str) -> str:
    try:
        return f"{2 * float(value):g}"
    except ValueError:
        return value


def _icd_answer(text: str) -> Answer | None:
    if match := _BLOCK.search(text):
        block = f"{match.group(1)}-{match.group(2)}"
        if icd10.is_block(block):
            return _block_answer(block)
    condition = OfflineTeacher._condition_named_in(text) or _condition_by_name(text)
    if condition is not None:
        facts = _facts(condition)
        wrong = rng_free_wrong(condition)
        return Answer(
            f"{facts['Name']} is ICD-10-CM category {facts['code']}, in the block {facts['block_title']}, "
            f"chapter {facts['chapter']}: {facts['chapter_title']}.",
            f"{facts['Name']} is classified in ICD-10-CM chapter {facts['chapter']}.",
            f"{facts['Name']} is ICD-10-CM category {wrong.code}, in chapter {wrong.chapter}.",
            (facts["code"], facts["block_title_plain"], facts["chapter_title_plain"]),
        )
    if (match := _CHAPTER.search(text)) and match.group(1) in icd10.chapters():
        return _chapter_answer(match.group(1))
    return None


def rng_free_wrong(condition: icd10.Condition) -> icd10.Condition:
    """A condition of another chapter, the same one every time for a condition (deterministic)."""
    others = [c for c in _conditions_by_code().values() if c.chapter != condition.chapter]
    return others[int(hashlib.sha256(condition.code.encode()).hexdigest(), 16) % len(others)]


def _block_answer(block: str) -> Answer:
    title = icd10.block_title(block)
    categories = icd10.categories_in_block(block)
    listed = "; ".join(f"{c.code} {c.description}" for c in categories[:6])
    more = f", and {len(categories) - 6} more" if len(categories) > 6 else ""
    chapter = icd10.chapter_of(block)
    return Answer(
        f"The ICD-10-CM block {title} belongs to chapter {chapter} ({icd10.chapter_title(chapter)}) and "
        f"holds {len(categories)} categories: {listed}{more}.",
        f"The block {title} is part of ICD-10-CM chapter {chapter}.",
        f"The ICD-10-CM block {title} belongs to chapter {int(chapter) % 21 + 1}.",
        (block, *(c.code for c in categories[:3])),
    )


def _chapter_answer(chapter: str) -> Answer:
    title = icd10.chapter_title(chapter)
    blocks = icd10.blocks_in_chapter(chapter)
    listed = "; ".join(f"{code} {_plain(block_title)}" for code, block_title in blocks[:6])
    more = f", and {len(blocks) - 6} more" if len(blocks) > 6 else ""
    return Answer(
        f"ICD-10-CM chapter {chapter} is {title}; its blocks include {listed}{more}.",
        f"ICD-10-CM chapter {chapter} is {title}.",
        f"ICD-10-CM chapter {chapter} is {icd10.chapter_title(str(int(chapter) % 21 + 1))}.",
        (_plain(title), *(code for code, _ in blocks[:2])),
    )


@cache
def _names_longest_first() -> tuple[tuple[str, icd10.Condition], ...]:
    return tuple(sorted(_conditions_by_name().items(), key=lambda kv: -len(kv[0])))


def _condition_by_name(text: str) -> icd10.Condition | None:
    """The condition whose ICD-10-CM name the text mentions (the longest such name), if any."""
    lower = text.lower()
    for name, condition in _names_longest_first():
        if len(name) >= 6 and name in lower and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", lower):
            return condition
    return None
