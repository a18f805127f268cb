"""The non-answer check: refusals, apologies, placeholders and empty text are filtered."""

from __future__ import annotations

from synth.models import Candidate
from synth.quality.checks.base import Check
from synth.quality.non_answer import field_failure, is_placeholder, non_answer_rule, rule_verdict
from synth.quality.verdict import Verdict


class NonAnswerCheck(Check):
    """Filtered when the instruction or a response is a refusal, an apology, a placeholder or empty."""

    name = "non_answer"
    order = 10
    flag_title = "Not an answer"
    flag_order = 70
    funnel_label = "Non-answers (refusals, placeholders, empty)"

    def verdict(self, candidate: Candidate) -> Verdict:
        verdict = rule_verdict(self.name, candidate, lambda text, _field: non_answer_rule(text))
        # The input may be empty (most tasks have none), but not a placeholder for one.
        task_input = candidate.input.strip()
        if verdict.passed and task_input and is_placeholder(task_input):
            return field_failure(self.name, "input", "placeholder", candidate.input)
        return verdict
