"""What one quality check says about one candidate, before it is stored as a QualityResult."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Verdict:
    check_name: str
    passed: bool
    reason: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    # Passed, with something a reviewer must see; `hold_back` also keeps it out of exports
    # unless a physician's edit replaces the text (Candidate.held_back).
    flagged: bool = False
    hold_back: bool = False
    score: float | None = None
    # Candidate fields the check sets as it judges (the PHI check stamps the screen that found none).
    stamps: dict[str, Any] = field(default_factory=dict)


# The candidate's texts every text check reads, with the names shown to reviewers.
TEXT_FIELDS = (
    ("instruction", "Instruction"),
    ("input", "Input"),
    ("output", "Response"),
    ("rejected_output", "Rejected response"),
)
