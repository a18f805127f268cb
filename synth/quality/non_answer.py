"""Texts that are not answers: refusals, apologies, placeholders, text empty of content, cut-off text.

The rules behind the gate's first two checks (synth/quality/checks/non_answer.py, truncated.py),
which every technique and every teacher goes through, on each text the candidate carries (the
instruction, the response, a pair's rejected response): a record whose response is "Sorry, I cannot
help with that" or "N/A", or whose text stops mid-sentence ("... insulin infusion at."), would teach
a model nothing a physician would sign, so it is filtered with the rule and the text that tripped it.
The rules are deliberately narrow (a refusal must open the text or make up a short one), so a hedged
clinical answer ("I cannot recommend a fixed dose; use the nomogram ...") longer than a few
sentences is not taken for a refusal.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from synth.quality.verdict import TEXT_FIELDS, Verdict

if TYPE_CHECKING:
    from synth.models import Candidate

LABELS = dict(TEXT_FIELDS)

_REFUSAL_OPENING = re.compile(
    r"""^\W*(?:
        (?:i'?m|i\s+am)\s+(?:so\s+|very\s+)?sorry
      | sorry\b
      | (?:my\s+)?apologies\b
      | i\s+apologi[sz]e
      | unfortunately,?\s+i\b
      | as\s+an?\s+(?:ai|language\s+model|assistant)\b
      | i\s+(?:cannot|can\s*not|can't|won't|will\s+not|am\s+unable\s+to|am\s+not\s+able\s+to|'m\s+unable\s+to)
        \s+(?:provide|answer|help|assist|give|comply|write|create|respond|offer|fulfil)
      | i\s+(?:do\s+not|don't)\s+have\s+(?:enough\s+|sufficient\s+|any\s+)?(?:information|access|data|a\s+reference)
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_NO_ANSWER_PHRASE = re.compile(
    r"\b(?:no\s+reference\s+answer|no\s+answer\s+(?:is\s+)?available|(?:cannot|can't|unable\s+to)\s+"
    r"(?:provide|answer|help|assist)|not\s+able\s+to\s+(?:provide|answer|help))\b",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(
    r"""^\W*(?:
        n/?a | tbd | tba | todo | none | null | nil | nan | unknown | placeholder | lorem\s+ipsum.*
      | (?:your\s+|the\s+)?(?:answer|response|output|instruction|text)(?:\s+(?:here|goes\s+here))?
      | insert\s+.* | \[[^\]]*\] | <[^>]*> | \{[^}]*\} | \(none\)
    )\W*$""",
    re.IGNORECASE | re.VERBOSE | re.DOTALL,
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
STOP_WORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "he", "her",
    "his", "i", "if", "in", "is", "it", "its", "of", "on", "or", "our", "she", "so", "that", "the",
    "their", "them", "then", "there", "these", "they", "this", "to", "was", "we", "were", "what",
    "when", "which", "who", "will", "with", "you", "your", "yes", "no", "ok", "okay",
})  # fmt: skip
# A sentence does not end on these: text ending on one stopped mid-phrase.
_DANGLING = frozenset({
    "a", "an", "the", "and", "or", "but", "nor", "of", "at", "with", "than", "whose", "because", "if",
    "its", "their", "his", "her", "our", "your", "my", "per", "via", "vs", "including", "such",
})  # fmt: skip
_TERMINAL = ".!?\"'”’)]"
SHORT = 60  # words: a refusal phrase anywhere in a text this short makes it a refusal


def non_answer_rule(text: str) -> str:
    """Why a text is not an answer ('empty', 'no_content', 'placeholder', 'refusal'), or ''."""
    stripped = text.strip()
    if not stripped:
        return "empty"
    words = [w.lower() for w in _WORD.findall(stripped)]
    if not words or all(w in STOP_WORDS for w in words):
        return "no_content"
    if _PLACEHOLDER.match(stripped):
        return "placeholder"
    if len(words) <= SHORT and (_REFUSAL_OPENING.match(stripped) or _NO_ANSWER_PHRASE.search(stripped)):
        return "refusal"
    return ""


def truncation_rule(text: str, *, instruction: bool = False) -> str:
    """Why a text looks cut off ('ellipsis', 'open_end', 'unclosed_bracket', 'dangling_word',
    'unfinished_sentence'), or ''. An instruction may end on a colon ("Code the note below:")."""
    stripped = text.strip()
    if not stripped:
        return ""
    if stripped.endswith(("...", "…")):
        return "ellipsis"
    if stripped[-1] in ",;-–—(/[{&+" or (stripped[-1] == ":" and not instruction):
        return "open_end"
    if stripped.count("(") > stripped.count(")") or stripped.count("[") > stripped.count("]"):
        return "unclosed_bracket"
    words = _WORD.findall(stripped.rstrip(_TERMINAL + " "))
    if len(words) >= 3 and words[-1].lower() in _DANGLING:
        return "dangling_word"
    # Several sentences, the last one ending on a plain lowercase word with no full stop.
    sentences = re.split(r"(?<=[.!?])\s+", stripped)
    if len(sentences) >= 2 and stripped[-1] not in _TERMINAL and re.search(r"\b[a-z]+$", stripped):
        return "unfinished_sentence"
    return ""


RULE_TEXT = {
    "empty": "is empty",
    "no_content": "has no content words",
    "placeholder": "is a placeholder",
    "refusal": "is a refusal or an apology, not an answer",
    "ellipsis": "ends in an ellipsis",
    "open_end": "ends on a comma, colon or dash",
    "unclosed_bracket": "leaves a bracket open",
    "dangling_word": "ends mid-phrase",
    "unfinished_sentence": "ends mid-sentence",
}


def answer_fields(candidate: Candidate) -> list[str]:
    """The texts a non-answer or a cut-off hides in: the instruction and the response(s)."""
    return ["instruction", "output", *(["rejected_output"] if candidate.is_pair else [])]


def is_placeholder(text: str) -> bool:
    """Whether a text stands in for content ("N/A", "TBD", "[insert answer]", "(none)")."""
    return bool(_PLACEHOLDER.match(text))


def rule_verdict(check_name: str, candidate: Candidate, rule_of: Callable[[str, str], str]) -> Verdict:
    """Failed on the first of the candidate's answer fields that `rule_of(text, field_name)` names a
    rule for, naming the field, the rule and the end of the text; passed when none trips."""
    for field_name in answer_fields(candidate):
        text = getattr(candidate, field_name)
        if rule := rule_of(text, field_name):
            return field_failure(check_name, field_name, rule, text)
    return Verdict(check_name, True)


def field_failure(check_name: str, field_name: str, rule: str, text: str) -> Verdict:
    """The verdict for one field that tripped a rule, in the words shown to reviewers."""
    return Verdict(
        check_name,
        False,
        f"{LABELS[field_name]} {RULE_TEXT[rule]}",
        {"field": field_name, "rule": rule, "text": text.strip()[-300:]},
    )
