"""Knowledge-base verification of ICD-10-CM codes: each code mentioned exists and fits the condition named.

The icd_codes check (synth/quality/checks/icd_codes.py) flags what this could not verify; drug names
are looked up by the drugs check (synth/quality/checks/drugs.py) in synth/knowledge/drugs.py.
"""

from __future__ import annotations

import re

from synth.knowledge import icd10

# A code needs context to be read as one: a decimal part (E11.9), parentheses "(I10)", or a word
# like "code" or "ICD-10" just before it, so "vitamin B12" or "A1C" are not codes.
_CODE = r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?"
_CODE_MENTION = re.compile(
    rf"(?P<paren>\()?\b(?P<code>{_CODE})\b(?!-[A-Z]\d)(?(paren)\))"
    rf"|(?<![-\w])(?P<dotted>[A-Z][0-9][0-9A-Z]\.[0-9A-Z]{{1,4}})\b"
)
_CODE_CONTEXT = re.compile(
    r"(?:ICD(?:-?10(?:-CM)?)?|codes?|coded|category|categories)\W*(?:\w+\W+){0,2}$", re.I
)
_RANGE = re.compile(rf"\b{_CODE}-{_CODE}\b")
_CONTENT_WORD = re.compile(r"[a-z]{3,}")
_STOP = frozenset(
    [
        "the",
        "and",
        "with",
        "without",
        "for",
        "other",
        "unspecified",
        "due",
        "not",
        "elsewhere",
        "classified",
        "type",
        "use",
        "current",
        "long",
        "term",
        "this",
        "that",
        "from",
        "into",
        "which",
        "code",
        "codes",
        "coded",
        "category",
        "block",
        "chapter",
        "icd",
        "what",
        "are",
        "its",
        "diagnosis",
        "condition",
        "disease",
        "diseases",
        "disorder",
        "disorders",
    ]
)


def _stems(text: str) -> set[str]:
    """Content words cut to five letters, so "diabetic" meets "diabetes", "hypertensive" meets "hypertension"."""
    return {w[:5] for w in _CONTENT_WORD.findall(text.lower()) if w not in _STOP}


def _named_before(text: str, start: int) -> str:
    """The words naming a condition just before a code: back to the clause's start, at most 10 words."""
    before = re.split(r"[.;:\n]|\bis\b|,\s", text[:start])[-1]
    return " ".join(before.split()[-10:])


def _code_terms(code: str) -> set[str]:
    """Stems of the code's description, its ancestors' (but not the chapter's) and inclusion terms."""
    terms = _stems(icd10.description(code))
    for ancestor in icd10.ancestors(code)[:-1]:
        terms |= _stems(icd10.description(ancestor))
    for term in icd10.inclusion_terms(code):
        terms |= _stems(term)
    return terms


def code_mentions(text: str) -> list[dict[str, object]]:
    """Every ICD-10-CM code mentioned, with whether it exists and whether the named condition fits."""
    found = []
    ranges = [m.span() for m in _RANGE.finditer(text)]
    for match in _CODE_MENTION.finditer(text):
        group = "code" if match.group("code") else "dotted"
        code, start, end = match.group(group), match.start(group), match.end(group)
        if any(a <= start < b for a, b in ranges):
            continue  # a block range such as (I20-I25) names a block, not a code
        bare = group == "code" and not (match.group("paren") or "." in code)
        if bare and not _CODE_CONTEXT.search(text[max(0, start - 40) : start]):
            continue
        entry: dict[str, object] = {"code": code, "start": start, "end": end}
        if not icd10.is_valid_code(code):
            entry.update(valid=False, problem="not an ICD-10-CM code")
            found.append(entry)
            continue
        entry.update(valid=True, description=icd10.description(code))
        # Only "condition name (CODE)" names a condition; "a subcategory under E74" names none.
        named = _named_before(text, match.start()) if match.group("paren") else ""
        named_terms = _stems(named)
        if named_terms and not named_terms & _code_terms(code):
            entry.update(named=named, problem=f'"{named}" does not match {code}: {icd10.description(code)}')
        found.append(entry)
    return found
