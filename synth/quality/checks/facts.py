"""The facts-table check: statements conflicting with the admin's facts table hold the candidate back."""

from __future__ import annotations

from synth.models import Candidate, KnowledgeFact
from synth.quality.checks.base import Check
from synth.quality.facts import conflicts_in
from synth.quality.verdict import TEXT_FIELDS, Verdict


class FactsCheck(Check):
    """Passes, flagged and held back when a statement conflicts with an active fact (each names its source)."""

    name = "facts"
    order = 80
    flag_title = "Facts table"
    flag_order = 40
    funnel_label = "Conflicts with the facts table"

    def verdict(self, candidate: Candidate) -> Verdict:
        facts = list(KnowledgeFact.objects.filter(is_active=True))
        if not facts:
            return Verdict(self.name, True)
        conflicts, agreements = [], []
        for field_name, label in TEXT_FIELDS:
            found, agreed = conflicts_in(getattr(candidate, field_name), facts)
            conflicts += [{"field": field_name, "field_label": label, **c} for c in found]
            agreements += [{"field": field_name, "field_label": label, **a} for a in agreed]
        evidence = {"conflicts": conflicts, "agreements": agreements}
        if not conflicts:
            return Verdict(
                self.name,
                True,
                f"{len(agreements)} statement(s) agree with the facts table" if agreements else "",
                evidence,
            )
        return Verdict(
            self.name,
            True,
            f"{len(conflicts)} statement(s) conflict with the facts table",
            evidence,
            flagged=True,
            hold_back=True,
        )
