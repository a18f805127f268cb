"""The drug-name check: names the offline dictionary does not know are flagged with the closest known one."""

from __future__ import annotations

from synth.knowledge import drugs
from synth.models import Candidate
from synth.quality.checks.base import Check
from synth.quality.verdict import TEXT_FIELDS, Verdict


class DrugsCheck(Check):
    """Never drops a candidate (a physician judges) but flags misspelled or invented drug-like names,
    and holds the candidate back from unreviewed release."""

    name = "drugs"
    order = 70
    flag_title = "Drug names"
    flag_order = 30
    funnel_label = "Unknown drug names"

    def verdict(self, candidate: Candidate) -> Verdict:
        recognized, unknown = [], []
        for field_name, label in TEXT_FIELDS:
            known, unsure = drugs.find_drugs(getattr(candidate, field_name))
            recognized += [{"field": field_name, "field_label": label, **m.as_dict()} for m in known]
            unknown += [{"field": field_name, "field_label": label, **m.as_dict()} for m in unsure]
        evidence = {"recognized": recognized, "unknown": unknown}
        if not unknown:
            return Verdict(
                self.name, True, f"{len(recognized)} drug name(s) recognized" if recognized else "", evidence
            )
        names = ", ".join(sorted({u["text"] for u in unknown}))
        return Verdict(
            self.name,
            True,
            f"Unknown drug-like name(s): {names}"[:200],
            evidence,
            flagged=True,
            hold_back=True,
        )
