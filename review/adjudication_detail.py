"""What the adjudication page shows of one item: every verdict, the texts approving reviewers proposed
side by side (each against the original and against each other), and, once settled, the outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from string import ascii_uppercase

from review.diff import FieldDiff, edit_diff
from review.models import APPROVING_VERDICTS, Decision, ItemRevision, Preference, RejectReason, ReviewItem
from review.selectors.reviewing import current_version
from review.settling import approved_text, settled_text

REASON_LABELS = dict(RejectReason.choices)
PAIR_CHOICES = [
    (Preference.OUTPUT, "Judge's preferred response"),
    (Preference.REJECTED_OUTPUT, "Judge's other response"),
    (Preference.TIE, "Tie"),
]
PREFERENCE_LABELS = {**dict(PAIR_CHOICES), Preference.NEITHER: "Both unacceptable"}


def _fields(text: tuple[str, str, str]) -> dict[str, str]:
    return dict(zip(("instruction", "input", "output"), text, strict=True))


@dataclass
class Proposal:
    """One text approving reviewers ended with: the original as it was, or one reviewer's edit."""

    label: str  # "Text A", "Text B", ...
    preference: str
    revision: ItemRevision | None
    text: dict[str, str]
    reviewers: list[str] = field(default_factory=list)
    against_original: list[FieldDiff] = field(default_factory=list)

    @property
    def choice(self) -> int:
        """What the page posts to accept it: the revision's id, or 0 for the original."""
        return self.revision.pk if self.revision is not None else 0

    @property
    def preference_label(self) -> str:
        return PREFERENCE_LABELS.get(self.preference, "")


def _verdict_row(decision: Decision, proposal: Proposal | None) -> dict:
    return {
        "reviewer": decision.reviewer.get_username(),
        "verdict": decision.get_verdict_display(),
        "preference": PREFERENCE_LABELS.get(decision.preference, ""),
        "reasons": [REASON_LABELS.get(code, code) for code in decision.reasons],
        "comment": decision.comment,
        "extra": decision.extra,
        "text": proposal.label if proposal else "",
    }


def _proposals(item: ReviewItem, decisions: list[Decision]) -> tuple[list[Proposal], dict[int, Proposal]]:
    """The distinct approved texts, in the order they were first proposed, and each decision's."""
    candidate = item.candidate
    by_key: dict[tuple[str, str], Proposal] = {}
    of_decision: dict[int, Proposal] = {}
    for decision in decisions:
        if decision.verdict not in APPROVING_VERDICTS:
            continue
        key = (decision.text_digest, decision.preference)
        proposal = by_key.get(key)
        if proposal is None:
            text = _fields(approved_text(candidate, decision.preference, decision.revision))
            original = _fields(approved_text(candidate, decision.preference, None))
            proposal = by_key[key] = Proposal(
                label=f"Text {ascii_uppercase[len(by_key) % 26]}",
                preference=decision.preference,
                revision=decision.revision,
                text=text,
                against_original=edit_diff(before=original, after=text),
            )
        proposal.reviewers.append(decision.reviewer.get_username())
        of_decision[decision.pk] = proposal
    return list(by_key.values()), of_decision


def _settled(item: ReviewItem) -> dict | None:
    if item.status != ReviewItem.Status.DECIDED:
        return None
    adjudication = item.adjudications.select_related("adjudicator").order_by("-created_at", "-pk").first()
    return {
        # An accepted edit is an approval of the edited text: "Accept", with the text marked edited.
        "verdict": "Accept" if item.is_approved else item.get_final_verdict_display(),
        "approved": item.is_approved,
        "preference": PREFERENCE_LABELS.get(item.final_preference, ""),
        "text": _fields(settled_text(item)),
        "edited": item.final_revision_id is not None,
        "by": adjudication.adjudicator.get_username() if adjudication else "",
        "comment": adjudication.comment if adjudication else "",
        "at": adjudication.created_at if adjudication else item.decided_at,
        "adjudicated": adjudication is not None,
    }


def adjudication_detail(item: ReviewItem, **extra) -> dict:
    """The adjudication page's context for `item` (extra: error, form_data)."""
    decisions = list(item.decisions.select_related("reviewer", "revision").order_by("created_at", "pk"))
    proposals, of_decision = _proposals(item, decisions)
    number, instruction, task_input, output = current_version(item)
    return {
        "item": item,
        "candidate": item.candidate,
        "verdicts": [_verdict_row(d, of_decision.get(d.pk)) for d in decisions],
        "proposals": proposals,
        "comparisons": [
            {"a": a.label, "b": b.label, "diff": edit_diff(before=a.text, after=b.text)}
            for a, b in combinations(proposals, 2)
        ],
        "texts_differ": len(proposals) > 1,
        # The original is always a choice, even when no reviewer approved it unchanged.
        "offer_original": all(p.revision is not None for p in proposals),
        # One text to choose from is chosen already: A accepts it.
        "single_choice": len(proposals) == 1 and proposals[0].revision is None,
        "settled": _settled(item),
        "version": {"number": number, "instruction": instruction, "input": task_input, "output": output},
        "pair_choices": PAIR_CHOICES,
        "form_data": {},
        **extra,
    }


def dispute_reasons(item_ids: list[int]) -> dict[int, str]:
    """Why each disputed item waits for a senior, in one query: what its reviewers disagreed on."""
    verdicts: dict[int, list[tuple[str, str, str]]] = {}
    for item_id, verdict, preference, digest in Decision.objects.filter(
        item_id__in=item_ids, extra=False
    ).values_list("item_id", "verdict", "preference", "text_digest"):
        verdicts.setdefault(item_id, []).append((verdict, preference, digest))
    reasons = {}
    for item_id, rows in verdicts.items():
        approving = [row for row in rows if row[0] in APPROVING_VERDICTS]
        if approving and len(approving) < len(rows):
            reasons[item_id] = "Approve against reject"
        elif len({row[1] for row in rows}) > 1:
            reasons[item_id] = "Preferred responses differ"
        elif len({row[2] for row in approving}) > 1:
            reasons[item_id] = "Approved texts differ"
    return reasons
