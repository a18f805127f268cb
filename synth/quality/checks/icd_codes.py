"""The ICD-10-CM check: codes mentioned must exist and fit the condition named before them."""

from __future__ import annotations

from synth.models import Candidate
from synth.quality.checks.base import Check
from synth.quality.verdict import TEXT_FIELDS, Verdict
from synth.quality.verification import code_mentions


class IcdCodesCheck(Check):
    """Never drops a candidate (a physician judges) but flags the codes it could not verify, with the
    evidence, and holds the candidate back from unreviewed release."""

    name = "icd_codes"
    order = 60
    flag_title = "ICD-10-CM codes"
    flag_order = 20
    funnel_label = "Unverified ICD-10-CM codes"

    def verdict(self, candidate: Candidate) -> Verdict:
        codes = []
        for field_name, label in TEXT_FIELDS:
            for mention in code_mentions(getattr(candidate, field_name)):
                codes.append({"field": field_name, "field_label": label, **mention})
        problems = [c for c in codes if "problem" in c]
        if not problems:
            return Verdict(
                self.name, True, f"{len(codes)} code(s) verified" if codes else "", {"codes": codes}
            )
        invalid = sum(1 for c in problems if not c["valid"])
        parts = []
        if invalid:
            parts.append(f"{invalid} unknown code(s)")
        if len(problems) > invalid:
            parts.append(f"{len(problems) - invalid} code(s) not matching the condition named")
        return Verdict(
            self.name, True, "ICD-10-CM: " + ", ".join(parts), {"codes": codes}, flagged=True, hold_back=True
        )
