"""Compares a text with the admin-curated facts table where it states a matching fact.

A fact names a drug and what is known about it: a dose range for one dose, a maximum daily dose,
or a contraindication. Where the candidate mentions the drug with a dose in the same sentence, the
dose is compared with the range; where it mentions the drug and the contraindicated condition in one
sentence without a warning word, that is a conflict for the physician (the facts check,
synth/quality/checks/facts.py, flags it). Every conflict names its source.
"""

from __future__ import annotations

import re
from decimal import Decimal

from synth.models import KnowledgeFact

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]|$)")
_DOSE = re.compile(
    r"(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>mg|mcg|µg|g|units?|iu)\b(?P<rest>[^,;]{0,25})", re.IGNORECASE
)
_DAILY = re.compile(r"\b(?:a|per|each|every)\s+day\b|\bdaily\b|/\s*day\b", re.IGNORECASE)
_WARNING = re.compile(
    r"\b(?:avoid|contraindicat\w*|do not|don't|never|not (?:be )?(?:given|used|recommended)|stop|withhold|caution)\b",
    re.IGNORECASE,
)
_TO_MG = {"g": Decimal(1000), "mg": Decimal(1), "mcg": Decimal("0.001"), "µg": Decimal("0.001")}


def _in_unit(value: Decimal, unit: str, wanted: str) -> Decimal | None:
    unit, wanted = unit.lower().rstrip("s"), wanted.lower().rstrip("s")
    if unit == wanted or {unit, wanted} <= {"unit", "iu"}:
        return value
    if unit in _TO_MG and wanted in _TO_MG:
        return value * _TO_MG[unit] / _TO_MG[wanted]
    return None


def _fmt(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


def conflicts_in(text: str, facts: list[KnowledgeFact]) -> tuple[list[dict], list[dict]]:
    """(conflicts, agreements) between a text's statements and the facts."""
    conflicts, agreements = [], []
    for sentence in _SENTENCE.findall(text):
        lower = sentence.lower()
        for fact in facts:
            if not re.search(rf"\b{re.escape(fact.drug.lower())}\b", lower):
                continue
            base = {
                "fact": fact.pk,
                "drug": fact.drug,
                "kind": fact.kind,
                "source": fact.source,
                "sentence": sentence.strip(),
            }
            if fact.kind == KnowledgeFact.Kind.CONTRAINDICATION:
                condition = fact.condition.lower()
                if condition and condition in lower and not _WARNING.search(sentence):
                    conflicts.append(
                        {
                            **base,
                            "message": f"{fact.drug} is contraindicated in {fact.condition}, but the text gives it without a warning",
                        }
                    )
                continue
            for dose in _DOSE.finditer(sentence):
                is_daily = bool(_DAILY.search(dose.group("rest")))
                if (fact.kind == KnowledgeFact.Kind.MAX_DAILY_DOSE) != is_daily:
                    continue
                value = _in_unit(Decimal(dose.group("value")), dose.group("unit"), fact.unit)
                if value is None:
                    continue
                stated = f"{dose.group('value')} {dose.group('unit')}"
                too_low = fact.low is not None and value < fact.low
                too_high = fact.high is not None and value > fact.high
                if too_low or too_high:
                    limits = (
                        f"{_fmt(fact.low)}–{_fmt(fact.high)}"
                        if fact.low is not None
                        else f"at most {_fmt(fact.high)}"
                    )
                    conflicts.append(
                        {
                            **base,
                            "stated": stated,
                            "message": f"{fact.drug} {stated}: the facts table gives {limits} {fact.unit} ({fact.get_kind_display().lower()})",
                        }
                    )
                else:
                    agreements.append({**base, "stated": stated})
    return conflicts, agreements
