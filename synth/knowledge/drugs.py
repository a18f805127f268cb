"""Drug names, from the drug-named-entity-recognition package's bundled dictionary (offline).

The package's dictionary (about 100,000 names and synonyms, brand names included) loads in a few
seconds, so it is loaded once per process, on first use. Only its offline parts are used: no OMOP,
PubChem or structure downloads.
"""

from __future__ import annotations

import difflib
import re
import threading
from dataclasses import dataclass
from functools import cache

_lock = threading.Lock()

# USAN stems: a word ending so is almost surely meant as a drug name.
DRUG_STEMS = (
    "mab", "nib", "pril", "sartan", "olol", "alol", "statin", "cillin", "cycline", "mycin", "micin",
    "floxacin", "conazole", "prazole", "tidine", "dipine", "zepam", "zolam", "oxetine", "parin",
    "gliptin", "gliflozin", "glutide", "tide", "vir", "triptan", "setron", "dronate", "lukast", "afil",
    "semide", "thiazide", "terol", "formin", "gliptin", "azepine", "barbital", "caine", "profen",
    "dronic", "sone", "olone", "vudine", "navir", "previr", "asvir", "xaban", "gatran", "grel",
    "platin", "rubicin", "taxel", "tinib", "zumab", "ximab", "umab", "cept", "kinra", "plase",
)  # fmt: skip
_DOSE_AFTER = re.compile(r"^\s+\d+(?:\.\d+)?\s*(?:mg|mcg|µg|g|units?|iu|ml|mmol|meq)\b", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][A-Za-z-]*[A-Za-z]")
# Words that may stand before a dose without being a drug ("a dose of 500 mg", "then 10 mg").
_DOSE_WORDS = frozenset(
    ["dose", "doses", "dosage", "dosing", "bolus", "total", "daily", "maximum", "max", "initial", "initially", "starting", "start", "loading", "maintenance", "then", "about", "approximately", "around", "to", "of", "at", "is", "was", "with", "every", "plus", "additional", "further", "weight", "give", "given", "take", "taken", "takes", "administer", "administered", "increase", "increased", "reduce", "reduced", "titrate", "titrated", "up", "by", "from", "between", "and", "or", "than", "over", "under", "least", "most", "minimum", "usual", "typical", "regimen", "infusion", "injection", "tablet", "tablets", "capsule", "capsules", "oral", "orally", "intravenous", "intravenously", "subcutaneous", "daily", "twice", "once", "single", "repeat", "repeated", "another", "followed", "each", "per", "day", "night", "morning", "evening", "week", "weekly", "hourly", "hours", "less", "more", "high", "low", "higher", "lower", "adult", "adults", "child", "children", "patients", "patient", "kg", "body", "kilogram", "elemental", "equivalent", "containing"]
)  # fmt: skip
_NOT_DRUGS = frozenset(
    ["response", "responses", "person", "persons", "reason", "season", "poison", "prison", "horizon", "comparison", "mission", "vision", "division", "decision", "version", "tension", "extension", "hypertension", "hypotension", "provision", "lesion", "lesions", "infection", "infections", "condition", "conditions", "position"]
)  # fmt: skip


@dataclass(frozen=True)
class DrugMention:
    text: str
    start: int
    end: int
    name: str = ""  # canonical name, for a recognized drug
    suggestion: str = ""  # the closest known name, for an unknown one

    def as_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "name": self.name,
            "suggestion": self.suggestion,
        }


@cache
def _dictionary():
    with _lock:
        from drug_named_entity_recognition import drugs_finder

        return drugs_finder


def load() -> None:
    """Load the dictionary now (a worker may warm it up before its first candidate)."""
    _dictionary()


@cache
def _names_by_initial() -> dict[str, list[str]]:
    by_initial: dict[str, list[str]] = {}
    for variant in _dictionary().drug_variant_to_canonical:
        if variant.isalpha():
            by_initial.setdefault(variant[0], []).append(variant)
    return by_initial


def canonical_name(word: str) -> str:
    names = _dictionary().drug_variant_to_canonical.get(word.lower())
    if not names:
        return ""
    data = _dictionary().drug_canonical_to_data.get(names[0], {})
    return data.get("name") or names[0]


def suggestion(word: str) -> str:
    """The closest dictionary name (a likely misspelling), or "" when nothing is close."""
    word = word.lower()
    pool = [n for n in _names_by_initial().get(word[0], []) if abs(len(n) - len(word)) <= 2]
    close = difflib.get_close_matches(word, pool, n=1, cutoff=0.8)
    return close[0] if close else ""


def find_drugs(text: str) -> tuple[list[DrugMention], list[DrugMention]]:
    """(recognized, unknown): drug names the dictionary knows, and drug-like words it does not.

    A word is drug-like when it ends in a drug-name stem (USAN: -pril, -statin, -mab, ...) or stands
    right before a dose ("Zorblax 20 mg"); plain words that precede doses ("a dose of 5 mg") are not.
    """
    words = list(_WORD.finditer(text))
    tokens = [m.group() for m in words]
    recognized: list[DrugMention] = []
    covered: set[int] = set()
    for data, first, last in _dictionary().find_drugs(tokens, is_ignore_case=True):
        start, end = words[first].start(), words[last - 1].end()
        recognized.append(DrugMention(text[start:end], start, end, name=data.get("name", "")))
        covered.update(range(first, last))
    unknown = []
    for index, match in enumerate(words):
        word = match.group()
        lower = word.lower()
        if index in covered or len(word) < 5 or lower in _NOT_DRUGS or "-" in word:
            continue
        singular = lower[:-1] if lower.endswith("s") else lower
        # a stem with at most two letters before it is a class name ("statins", "thiazide"), not a drug
        stem_like = any(singular.endswith(s) and len(singular) - len(s) >= 3 for s in DRUG_STEMS)
        before_dose = bool(_DOSE_AFTER.match(text[match.end() : match.end() + 20]))
        if not (stem_like or before_dose) or lower in _DOSE_WORDS:
            continue
        if lower in _dictionary().stopwords or canonical_name(word) or canonical_name(singular):
            continue
        unknown.append(DrugMention(word, match.start(), match.end(), suggestion=suggestion(word)))
    return sorted(recognized, key=lambda m: m.start), unknown
