"""The cut-off check: an instruction or a response that stops mid-sentence is filtered."""

from __future__ import annotations

from synth.models import Candidate
from synth.quality.checks.base import Check
from synth.quality.non_answer import rule_verdict, truncation_rule
from synth.quality.verdict import Verdict


class TruncatedCheck(Check):
    """Filtered when the instruction or a response stops mid-sentence (a cut-off reply or document)."""

    name = "truncated"
    order = 20
    flag_title = "Cut-off text"
    flag_order = 80
    funnel_label = "Cut-off text"

    def verdict(self, candidate: Candidate) -> Verdict:
        return rule_verdict(
            self.name,
            candidate,
            lambda text, field_name: truncation_rule(text, instruction=field_name == "instruction"),
        )
