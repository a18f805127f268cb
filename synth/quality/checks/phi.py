"""The PHI check: Safe Harbor identifiers in any of the candidate's texts hold it back, with their spans."""

from __future__ import annotations

from synth.models import Candidate
from synth.quality.checks.base import Check
from synth.quality.phi import KINDS, SCREEN_VERSION, find_phi
from synth.quality.verdict import TEXT_FIELDS, Verdict


class PhiCheck(Check):
    """A candidate with identifiers passes but is held back, with every finding as evidence."""

    name = "phi"
    order = 50
    flag_title = "Possible PHI"
    flag_order = 10
    funnel_label = "Possible PHI"

    def verdict(self, candidate: Candidate) -> Verdict:
        findings = []
        for field_name, label in TEXT_FIELDS:
            for finding in find_phi(getattr(candidate, field_name)):
                findings.append(
                    {
                        "field": field_name,
                        "field_label": label,
                        "label": KINDS[finding.kind],
                        **finding.as_dict(),
                    }
                )
        if not findings:
            return Verdict(self.name, True, stamps={"phi_free_under": SCREEN_VERSION})
        kinds = sorted({KINDS[f["kind"]] for f in findings})
        return Verdict(
            self.name,
            True,
            f"Possible PHI: {', '.join(kinds)}"[:200],
            {"findings": findings},
            flagged=True,
            hold_back=True,
            stamps={"phi_free_under": ""},
        )
