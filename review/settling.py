"""What settles an item under blind review: the verdicts, and the texts approving reviewers ended with.

Each reviewer sees the same text (the candidate's) and each edit is its author's own proposal, so two
approving reviewers can end with different texts. The rule (README, "Blind double review"):

- every required reviewer approves with the same final text (up to whitespace): the item settles
  with that text (an edit's revision if the text is an edit, otherwise the candidate as it is);
- every required reviewer rejects: the item is rejected;
- anything else (approve against reject, different preferred responses of a pair, or approving
  reviewers whose texts differ) goes to a senior physician's adjudication.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from review.models import APPROVING_VERDICTS, Decision, ItemRevision, Preference, ReviewItem, Verdict
from synth.models import Candidate


def normalised(text: str) -> str:
    """Text as compared between reviewers: whitespace runs count as one space, ends trimmed."""
    return " ".join((text or "").split())


def text_digest(instruction: str, task_input: str, output: str) -> str:
    """SHA-256 of a record's whitespace-normalised instruction, input and response: equal digests,
    equal texts. Stored per decision so the agreement report compares texts with a GROUP BY."""
    joined = "\x1f".join(normalised(part) for part in (instruction, task_input, output))
    return hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()


def chosen_response(candidate: Candidate, preference: str) -> str:
    """The response a verdict approves: a pair's chosen one (the judge's for a tie), else the only one."""
    if preference == Preference.REJECTED_OUTPUT:
        return candidate.rejected_output
    return candidate.output


def approved_text(
    candidate: Candidate, preference: str, revision: ItemRevision | None
) -> tuple[str, str, str]:
    """(instruction, input, response) an approving verdict stands for: its edit, or the candidate's text."""
    if revision is not None:
        return revision.instruction, revision.input, revision.output
    return candidate.instruction, candidate.input, chosen_response(candidate, preference)


def decision_digest(
    candidate: Candidate, verdict: str, preference: str, revision: ItemRevision | None
) -> str:
    """What Decision.text_digest holds: the approved text's digest; empty for a rejection."""
    if verdict not in APPROVING_VERDICTS:
        return ""
    return text_digest(*approved_text(candidate, preference, revision))


@dataclass(frozen=True)
class Outcome:
    """How a complete set of required decisions settles an item (`disputed`: adjudication decides)."""

    disputed: bool
    verdict: str = ""
    preference: str = ""
    revision: ItemRevision | None = None


def settle(decisions: list[Decision]) -> Outcome:
    """The item's outcome from its required decisions (oldest first)."""
    if len({(d.verdict in APPROVING_VERDICTS, d.preference) for d in decisions}) > 1:
        return Outcome(disputed=True)  # approve against reject, or a pair's preferred responses differ
    first = decisions[0]
    if first.verdict not in APPROVING_VERDICTS:
        return Outcome(disputed=False, verdict=Verdict.REJECT, preference=first.preference)
    if len({d.text_digest for d in decisions}) > 1:
        return Outcome(disputed=True)  # all approve, with different texts: a senior chooses
    edits = [d for d in decisions if d.verdict == Verdict.EDIT]
    if edits:
        # Every approving reviewer ended with this text: the first proposal of it stands.
        return Outcome(
            disputed=False, verdict=Verdict.EDIT, preference=first.preference, revision=edits[0].revision
        )
    return Outcome(disputed=False, verdict=Verdict.ACCEPT, preference=first.preference)


def settled_text(item: ReviewItem) -> tuple[str, str, str]:
    """The text a settled item stands for (what exports read): its final revision, or the candidate's."""
    return approved_text(item.candidate, item.final_preference, item.final_revision)
