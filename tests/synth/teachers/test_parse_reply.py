import pytest

from synth.teachers.base import Schema, TeacherError, parse_json_reply

SCHEMA = Schema("output", {"type": "object", "required": ["output"]})


def test_it_parses_a_json_object():
    assert parse_json_reply('{"output": "x"}', SCHEMA) == {"output": "x"}


def test_it_accepts_a_markdown_fence_around_the_json():
    assert parse_json_reply('```json\n{"output": "x"}\n```', SCHEMA) == {"output": "x"}


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"answer": "x"}', ""])
def test_it_rejects_replies_that_do_not_fit_keeping_the_raw_text(text):
    with pytest.raises(TeacherError) as error:
        parse_json_reply(text, SCHEMA)
    assert not error.value.permanent
    assert error.value.raw == text
