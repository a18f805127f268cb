import pytest

from synth.knowledge import icd10
from synth.teachers.base import Schema, TeacherError
from synth.teachers.offline import OfflineTeacher
from synth.techniques.self_instruct import OUTPUT_SCHEMA, TASKS_SCHEMA, output_prompt


def ask_for_tasks(teacher, chapter="9", want=3):
    prompt = f"Clinical domain: Cardiology\nICD-10-CM chapter: {chapter} (x)\nWrite {want} new tasks for this domain."
    return teacher.complete([{"role": "user", "content": prompt}], schema=TASKS_SCHEMA)


def test_it_writes_the_number_of_tasks_asked_for_from_the_domains_chapter():
    reply = ask_for_tasks(OfflineTeacher(), chapter="9", want=3)
    assert len(reply.data["tasks"]) == 3
    codes = {c.code for c in icd10.conditions_in_chapter("9")}
    for task in reply.data["tasks"]:
        assert any(code in task["instruction"] + task["input"] or task["input"] for code in codes)


def test_it_is_deterministic_for_the_same_prompt():
    assert ask_for_tasks(OfflineTeacher()).text == ask_for_tasks(OfflineTeacher()).text


def test_it_replies_with_json_text_that_goes_through_the_same_parser():
    reply = ask_for_tasks(OfflineTeacher())
    assert reply.text.startswith("{")
    assert reply.provider == "offline"
    assert reply.usage.input_tokens > 0


def test_its_answers_state_the_icd_facts_of_the_condition_asked_about():
    instruction = "In which ICD-10-CM block and chapter is Essential (primary) hypertension (I10) classified?"
    reply = OfflineTeacher().complete(
        [{"role": "user", "content": output_prompt(instruction, "")}], schema=OUTPUT_SCHEMA
    )
    assert "I10" in reply.data["output"]
    assert "Hypertensive diseases" in reply.data["output"]
    assert "chapter 9" in reply.data["output"]


def test_it_says_so_when_it_has_no_answer():
    reply = OfflineTeacher().complete(
        [{"role": "user", "content": output_prompt("Write a haiku about the heart.", "")}],
        schema=OUTPUT_SCHEMA,
    )
    assert "no reference answer" in reply.data["output"]


def test_it_refuses_requests_it_cannot_answer_as_permanent_errors():
    with pytest.raises(TeacherError) as error:
        OfflineTeacher().complete([{"role": "user", "content": "hi"}], schema=Schema("poem", {}))
    assert error.value.permanent
