import pytest

from synth.knowledge import icd10
from synth.teachers.base import Schema, TeacherError
from synth.teachers.offline_provider import OfflineTeacher
from synth.techniques.self_instruct import OUTPUT_SCHEMA, TASKS_SCHEMA, output_prompt


def ask_for_tasks(teacher, chapter="9", want=3):
    prompt = f"Clinical domain: Cardiology\nICD-10-CM chapter: {chapter} (x)\nWrite {want} new tasks for this domain."
    return teacher.complete([{"role": "user", "content": prompt}], schema=TASKS_SCHEMA)


def test_it_writes_the_number_of_tasks_asked_for_from_the_domains_chapter():
    reply = ask_for_tasks(OfflineTeacher(facts=()), chapter="9", want=3)
    assert len(reply.data["tasks"]) == 3
    codes = {c.code for c in icd10.conditions_in_chapter("9")}
    for task in reply.data["tasks"]:
        assert any(code in task["instruction"] + task["input"] or task["input"] for code in codes)


def test_it_is_deterministic_for_the_same_prompt():
    assert ask_for_tasks(OfflineTeacher(facts=())).text == ask_for_tasks(OfflineTeacher(facts=())).text


def test_it_replies_with_json_text_that_goes_through_the_same_parser():
    reply = ask_for_tasks(OfflineTeacher(facts=()))
    assert reply.text.startswith("{")
    assert reply.provider == "offline"
    assert reply.usage.input_tokens > 0


def test_its_answers_state_the_icd_facts_of_the_condition_asked_about():
    instruction = "In which ICD-10-CM block and chapter is Essential (primary) hypertension (I10) classified?"
    reply = OfflineTeacher(facts=()).complete(
        [{"role": "user", "content": output_prompt(instruction, "")}], schema=OUTPUT_SCHEMA
    )
    assert "I10" in reply.data["output"]
    assert "Hypertensive diseases" in reply.data["output"]
    assert "chapter 9" in reply.data["output"]


def test_it_fails_a_question_its_knowledge_base_cannot_answer_saying_why():
    with pytest.raises(TeacherError) as error:
        OfflineTeacher(facts=()).complete(
            [{"role": "user", "content": output_prompt("Write a haiku about the heart.", "")}],
            schema=OUTPUT_SCHEMA,
        )
    assert error.value.permanent and error.value.reason == "no_answer"
    assert "knowledge base" in error.value.message


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (
            "Which ICD-10-CM category codes essential (primary) hypertension?",
            ["I10", "Hypertensive diseases"],
        ),
        ("What is the ICD-10-CM code for atrial fibrillation and flutter?", ["I48"]),
        ("Which categories make up the ICD-10-CM block I20-I25?", ["Ischemic heart diseases", "I21 Acute"]),
        ("What does ICD-10-CM chapter 10 cover?", ["Diseases of the respiratory system", "J09-J18"]),
    ],
)
def test_it_answers_codes_blocks_and_chapters_from_icd10(question, expected):
    reply = OfflineTeacher(facts=()).complete(
        [{"role": "user", "content": output_prompt(question, "")}], schema=OUTPUT_SCHEMA
    )
    for text in expected:
        assert text in reply.data["output"]


def test_it_answers_from_the_facts_table_citing_the_source(db, demo_config):
    teacher = OfflineTeacher()  # reads the facts table (seed_demo's metformin facts)
    ask = lambda q: teacher.complete(  # noqa: E731
        [{"role": "user", "content": output_prompt(q, "")}], schema=OUTPUT_SCHEMA
    ).data["output"]
    assert "2550 mg" in ask("What is the maximum daily dose of metformin?")
    assert "severe renal impairment" in ask("In which condition is metformin contraindicated?")
    with pytest.raises(TeacherError):
        ask("What is the maximum daily dose of warfarin?")  # not in the facts table


def test_a_hotter_and_a_flawed_answer_differ_from_the_reference():
    question = output_prompt("Which ICD-10-CM category codes asthma?", "")
    teacher = OfflineTeacher(facts=())

    def ask(content, **kwargs):
        return teacher.complete([{"role": "user", "content": content}], schema=OUTPUT_SCHEMA, **kwargs)

    reference = ask(question, temperature=0.2).data["output"]
    assert ask(question, temperature=1.0).data["output"] != reference
    flawed = ask("Write a deliberately flawed answer.\n" + question).data["output"]
    assert flawed != reference and "J45" not in flawed


def test_it_refuses_requests_it_cannot_answer_as_permanent_errors():
    with pytest.raises(TeacherError) as error:
        OfflineTeacher(facts=()).complete([{"role": "user", "content": "hi"}], schema=Schema("poem", {}))
    assert error.value.permanent
