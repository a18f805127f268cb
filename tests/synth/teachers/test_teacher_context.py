"""What a technique asks goes to the offline teacher as structured context, and to no provider."""

from synth.teachers.base import Completion
from synth.teachers.dispatch import Call, Dispatcher
from synth.teachers.offline_provider import OfflineTeacher
from synth.techniques.self_instruct import OUTPUT_SCHEMA


class Recording:
    provider, model = "openai", "gpt-test"

    def __init__(self) -> None:
        self.seen: list[dict] = []

    def complete(self, messages, **kwargs) -> Completion:
        self.seen.append(kwargs)
        return Completion(
            text='{"output": "x"}', provider=self.provider, model=self.model, data={"output": "x"}
        )


class TakesContext(Recording):
    takes_context = True


CALL = Call(
    key="k", messages=[{"role": "user", "content": "Q?"}], context={"task": "answer", "instruction": "Q?"}
)


def test_the_offline_teacher_answers_what_the_context_asks_whatever_the_prompt_says():
    reply = OfflineTeacher(facts=()).complete(
        [{"role": "user", "content": "Bitte beantworten Sie die Frage."}],
        schema=OUTPUT_SCHEMA,
        context={"task": "answer", "instruction": "Which ICD-10-CM category codes asthma?", "input": ""},
    )
    assert "J45" in reply.data["output"]


def test_the_dispatcher_hands_the_context_only_to_a_teacher_that_takes_it():
    provider, offline = Recording(), TakesContext()
    for client in (provider, offline):
        with Dispatcher(client, screen_phi=False) as dispatcher:
            assert dispatcher.submit(CALL).result(timeout=30).ok
    assert "context" not in provider.seen[0]
    assert offline.seen[0]["context"] == {"task": "answer", "instruction": "Q?"}
