"""PHI screen after HIPAA Safe Harbor's eighteen identifiers: finds them in text, with their spans.

Why our own patterns and not a library: Presidio (and scrubadub's name detector) find names with a
spaCy or Stanza model that has to be downloaded, and this product must run with no network; the
regex-only packages (commonregex and its forks) match every "1/2" as a date and every long number as
a phone, which cries wolf on doses, lab values and vital signs. Safe Harbor's list is mostly
*labelled* or *formatted* identifiers, so patterns with context rules catch them precisely, and the
exclusions that keep ordinary clinical text clean are written next to each pattern.

What is not an identifier here (Safe Harbor keeps them): ages up to 89 and the "90 or older" group,
years on their own, doses, lab values, vital signs, ICD-10-CM codes, guideline names and years, and
public reference web sites (government and WHO pages cited as sources, not the patient's own URL).
Biometric identifiers and full-face photographs cannot be carried by text itself; references to them
(a fingerprint on file, an attached face photograph, an embedded image) are flagged instead.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

# Which screen a text passed: this module's own source, hashed. A row stamped as free of PHI under
# this version need not be screened again (the export's last gate trusts the stamp); any change here
# makes every stamp stale, so the next export screens those texts afresh. No number to remember to bump.
SCREEN_VERSION = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


@dataclass(frozen=True, order=True)
class PhiFinding:
    start: int
    end: int
    kind: str
    text: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


# Every kind the screen reports, in Safe Harbor's order, with the words shown to reviewers.
KINDS: dict[str, str] = {
    "name": "Name",
    "address": "Street address or place smaller than a state",
    "zip": "ZIP code",
    "date": "Date more specific than the year",
    "age": "Age over 89",
    "phone": "Telephone number",
    "fax": "Fax number",
    "email": "Email address",
    "ssn": "Social Security number",
    "mrn": "Medical record number",
    "health_plan": "Health plan beneficiary number",
    "account": "Account number",
    "license": "Certificate or license number",
    "vehicle": "Vehicle identifier or licence plate",
    "device": "Device identifier or serial number",
    "url": "Web address (URL)",
    "ip": "IP address",
    "biometric": "Biometric identifier",
    "photo": "Full-face photograph or image",
    "other_id": "Other unique identifying number",
}

_F = re.IGNORECASE

# --- names -------------------------------------------------------------------------------------
# A capitalised word that is not a common sentence word: "Patient: The ..." is not a name.
_NOT_NAMES = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "he",
        "she",
        "his",
        "her",
        "hers",
        "him",
        "they",
        "them",
        "their",
        "it",
        "its",
        "we",
        "our",
        "you",
        "your",
        "i",
        "my",
        "me",
        "patient",
        "pt",
        "is",
        "was",
        "has",
        "had",
        "with",
        "without",
        "and",
        "or",
        "but",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "from",
        "by",
        "as",
        "presents",
        "presented",
        "reports",
        "denies",
        "mr",
        "mrs",
        "ms",
        "dr",
        "no",
        "yes",
        "none",
        "unknown",
        "male",
        "female",
        "man",
        "woman",
        "boy",
        "girl",
        "child",
        "infant",
        "baby",
        "adult",
        "elderly",
        "history",
        "hx",
        "assessment",
        "plan",
        "diagnosis",
        "dx",
        "age",
        "sex",
        "dob",
        "date",
        "mother",
        "father",
        "son",
        "daughter",
        "wife",
        "husband",
        "brother",
        "sister",
        "who",
        "which",
        "what",
        "when",
        "where",
        "how",
        "why",
        "today",
        "yesterday",
        "tomorrow",
        "doctor",
        "nurse",
        "physician",
        "department",
        "emergency",
        "hospital",
        "clinic",
        "center",
        "centre",
        "unit",
        "ward",
        "room",
        "case",
        "vignette",
        "scenario",
        "presentation",
        "question",
        "answer",
        "example",
        "medical",
        "clinical",
        "type",
        "stage",
        "class",
        "grade",
        "chief",
        "complaint",
        "subjective",
        "objective",
        "note",
        "summary",
        "discharge",
        "admission",
    ]
)
_CAP = r"[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?"
_NAME = rf"{_CAP}(?:\s+[A-Z]\.)?(?:\s+{_CAP}){{0,2}}"
_TITLED_NAME = re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?\s+(?P<name>{_NAME})")
# A label alone is weak evidence ("Patient: Elderly ..."), so a labelled name needs two words.
_LABELLED_NAME = re.compile(
    rf"\b(?i:patient(?:'s)?\s+name|name|patient|pt)\s*[:=]\s*(?P<name>{_CAP}(?:\s+[A-Z]\.)?\s+{_CAP})"
)
_RELATION = (
    r"(?:wife|husband|partner|spouse|son|daughter|mother|father|brother|sister|grand(?:mother|"
    r"father|son|daughter)|aunt|uncle|cousin|niece|nephew|friend|neighbou?r|employer|boss|caregiver)"
)
_NAMED = re.compile(
    rf"\b(?i:patient|man|woman|boy|girl|child|infant|baby|gentleman|lady|{_RELATION}),?\s+"
    rf"(?i:named|called)\s+(?P<name>{_NAME})"
)
_RELATIVE_NAME = re.compile(rf"\b(?i:his|her|their|the\s+patient's)\s+(?i:{_RELATION}),?\s+(?P<name>{_NAME})")
# "Maria Lopez, a 45-year-old ..." / "John Smith is a 60 year old ...": a name introducing a case.
_NAME_INTRODUCES_CASE = re.compile(
    rf"(?P<name>{_CAP}(?:\s+[A-Z]\.)?\s+{_CAP}),?\s+(?:is\s+|was\s+)?an?\s+\d{{1,3}}[- ]?(?:year|yr|month|week|day)s?[- ]old"
)
_SIGNED = re.compile(
    rf"\b(?i:signed|electronically\s+signed|dictated|attending)\s*(?i:by)?\s*:?\s*(?P<name>{_NAME})"
)

# --- ages ----------------------------------------------------------------------------------------
_AGE_PATTERNS = (
    re.compile(r"\b(?P<age>\d{2,3})[- ]?(?:years?|yrs?|y)[- ]?(?:old|o)\b", _F),
    re.compile(r"\b(?P<age>\d{2,3})\s*(?:y/o|yo|y\.o\.)", _F),
    re.compile(r"\b(?:aged?|age:)\s*(?P<age>\d{2,3})\b(?!\s*(?:or|and)\s+(?:older|over|above))", _F),
    re.compile(r"\b(?P<age>\d{2,3})(?:st|nd|rd|th)\s+birthday\b", _F),
)

# --- dates ---------------------------------------------------------------------------------------
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?"
_YEAR = r"(?:1[89]\d\d|20\d\d)"
_DATE_PATTERNS = (
    # 03/14/2024, 3-14-24, 14.03.2024 (day or month first: either way more than the year)
    re.compile(
        r"(?<![\d/.-])(?:0?[1-9]|[12]\d|3[01])[/.-](?:0?[1-9]|[12]\d|3[01])[/.-](?:\d{4}|\d{2})(?![\d/-]|\.\d)"
    ),
    # 2024-03-14, 2024/03/14
    re.compile(rf"(?<![\d/.-]){_YEAR}[/.-](?:0?[1-9]|1[0-2])[/.-](?:0?[1-9]|[12]\d|3[01])(?![\d/-]|\.\d)"),
    # March 14, 2024 / March 14th / Mar. 14
    re.compile(rf"\b{_MONTH}\s+{_DAY}\b(?:,?\s+{_YEAR}\b)?"),
    # 14 March 2024 / 14th of March
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR})?\b"),
    # March 2024 (the month is an element of a date)
    re.compile(rf"\b{_MONTH}\s+(?:of\s+)?{_YEAR}\b"),
    # 03/2024
    re.compile(rf"(?<![\d/.-])(?:0?[1-9]|1[0-2])/{_YEAR}(?![\d/-]|\.\d)"),
    # on 3/14 (a day and month without a year, only where it is clearly a date)
    re.compile(
        r"\b(?:on|since|from|until|dated|DOB:?|admitted|discharged|born)\s+(?P<date>(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01]))(?![\d/.])",
        _F,
    ),
)

# --- contact details -------------------------------------------------------------------------------
_PHONE_NUMBER = r"(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?:\s*(?:x|ext\.?)\s*\d{1,5})?"
_INTL_NUMBER = r"\+(?:[2-9]\d{0,2})[\s.-]?(?:\(?\d{1,4}\)?[\s.-]?){2,4}\d{2,4}"
_PHONE = re.compile(rf"(?<![\w/.-])(?:{_PHONE_NUMBER}|{_INTL_NUMBER})(?![\w/])")
_FAX_LABEL = re.compile(r"\bfax(?:\s*(?:number|no\.?|#))?\s*[:.]?\s*$", _F)
_PHONE_LABELLED_DIGITS = re.compile(
    r"\b(?P<label>phone|tel|telephone|cell|mobile|fax|pager|call(?:ed)?(?:\s+(?:him|her|them|me))?\s+(?:at|on))"
    r"(?:\s*(?:number|no\.?|#))?\s*[:.]?\s*(?P<number>\d{7,11})\b",
    _F,
)
_EMAIL = re.compile(r"\b[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_URL = re.compile(r"\b(?:https?://|ftp://|www\.)[^\s<>\"'()\[\]]+", _F)
# Public reference sites a clinical answer may cite; a web address there is not the patient's.
_PUBLIC_HOST_SUFFIXES = (".gov", ".gov.uk", ".nhs.uk", ".who.int", ".europa.eu", ".nih.gov", "doi.org")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{0,4}(?:::?[0-9A-Fa-f]{1,4})*(?![\w:])")
_SSN = re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])")
_SSN_LABELLED = re.compile(
    r"\b(?:SSN|social\s+security(?:\s+(?:number|no\.?|#))?)\s*[:#]?\s*(?P<id>\d{9}|\d{3}\s\d{2}\s\d{4})\b", _F
)

# --- addresses ---------------------------------------------------------------------------------------
_STREET_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Drive|Dr|Lane|Ln|Court|Ct|Place|Pl|Terrace|Way|"
    r"Circle|Cir|Parkway|Pkwy|Highway|Hwy|Square|Sq|Trail|Trl)"
)
_STREET = re.compile(
    rf"\b\d{{1,6}}\s+(?:[NSEW]\.?\s+)?(?:[A-Z][a-z]+|\d+(?:st|nd|rd|th))(?:\s+[A-Z][a-z]+){{0,3}}\s+{_STREET_SUFFIX}\b\.?"
    r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|#)\.?\s*\w+)?"
)
_PO_BOX = re.compile(r"\bP\.?\s?O\.?\s+Box\s+\d+\b", _F)
_STATES = [
    "AL",
    "AK",
    "AZ",
    "AR",
    "CA",
    "CO",
    "CT",
    "DE",
    "FL",
    "GA",
    "HI",
    "ID",
    "IL",
    "IN",
    "IA",
    "KS",
    "KY",
    "LA",
    "ME",
    "MD",
    "MA",
    "MI",
    "MN",
    "MS",
    "MO",
    "MT",
    "NE",
    "NV",
    "NH",
    "NJ",
    "NM",
    "NY",
    "NC",
    "ND",
    "OH",
    "OK",
    "OR",
    "PA",
    "RI",
    "SC",
    "SD",
    "TN",
    "TX",
    "UT",
    "VT",
    "VA",
    "WA",
    "WV",
    "WI",
    "WY",
    "DC",
    "PR",
]
_CITY_STATE_ZIP = re.compile(
    rf"\b(?P<place>[A-Z][a-z]+(?:\s+[A-Z][a-z]+){{0,2}}),\s+(?:{'|'.join(_STATES)})\s+(?P<zip>\d{{5}}(?:-\d{{4}})?)\b"
)
_ZIP_LABELLED = re.compile(r"\b(?:zip|zip\s*code|postal\s+code)\s*[:#]?\s*(?P<zip>\d{5}(?:-\d{4})?)\b", _F)
_ZIP_AFTER_STATE = re.compile(rf"\b(?:{'|'.join(_STATES)})\s+(?P<zip>\d{{5}}(?:-\d{{4}})?)\b")
_LIVES_IN = re.compile(
    rf"\b(?:lives|living|resides|residing|resident|moved)\s+(?:in|of|to)\s+(?P<place>{_CAP}(?:\s+{_CAP}){{0,2}})"
)

# --- labelled record, account and other numbers -------------------------------------------------------
# The identifier after a label: at least three digits (so "class II" or "type 2" never match).
_ID = r"(?P<id>(?=(?:[A-Z-]*\d){3})[A-Z0-9][A-Z0-9-]{2,19})"
# Words like "patient", "account" or "device" name an identifier only with a marker after them
# ("patient ID: ...", "account #..."), so "give the patient 500 mg" is not a patient number.
_MARKER = r"(?:\s*(?:number|num|no\.?|ID|identifier)(?![a-z])\.?\s*[:#]?|\s*[:#])\s*(?:is\s+)?"


def _labelled(strong: str, weak: str) -> re.Pattern[str]:
    parts = [rf"(?:{weak}){_MARKER}"]
    if strong:
        parts.append(rf"(?:{strong})(?:{_MARKER})?\s*")
    return re.compile(rf"\b(?:{'|'.join(parts)}){_ID}(?![\w-])", _F)


_LABELLED_IDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("mrn", _labelled(r"MRN|MR\#", r"MR|medical\s+record|hospital|chart|unit\s+record")),
    (
        "health_plan",
        _labelled(
            r"MBI|HICN",
            r"member|subscriber|beneficiary|policy|insurance|health\s+plan|Medicare|Medicaid|group|plan",
        ),
    ),
    ("account", _labelled(r"acct\.?", r"account|billing|invoice")),
    (
        "license",
        _labelled(
            r"DEA|NPI",
            r"(?:driver'?s\s+)?licen[cs]e|certificate|passport|certification|registration",
        ),
    ),
    ("vehicle", _labelled(r"VIN|licen[cs]e\s+plate", r"plate|vehicle")),
    ("device", _labelled(r"S/N|UDI", r"serial|SN|device|implant|pacemaker|lot")),
    (
        "other_id",
        _labelled("", r"patient|encounter|visit|case|accession|specimen|employee|student|ID|identification"),
    ),
)
_VIN = re.compile(r"\b(?=[A-HJ-NPR-Z0-9]*\d)(?=[A-HJ-NPR-Z0-9]*[A-HJ-NPR-Z])[A-HJ-NPR-Z0-9]{17}\b")

# --- biometrics and photographs ----------------------------------------------------------------------
_BIOMETRIC = re.compile(
    r"\b(?:finger\s?prints?|voice\s?prints?|retina(?:l)?\s+scan\s+(?:ID|identifier|on\s+file)|"
    r"iris\s+scan\s+(?:ID|identifier|on\s+file)|biometric\s+(?:ID|identifier|data|record))\b",
    _F,
)
_PHOTO = re.compile(
    r"!\[[^\]]*\]\([^)]*\)|data:image/[\w+.-]+;base64,[A-Za-z0-9+/=]{16,}|"
    r"\b(?:full[- ]face|facial|patient(?:'s)?)\s+(?:photo(?:graph)?s?|picture|image)\b",
    _F,
)


# "over 90 years old", "aged 90 or older", "90+": Safe Harbor's own aggregate group, not an age.
_AGE_GROUP_BEFORE = re.compile(r"(?:over|above|older\s+than|more\s+than|beyond|>|≥|>=)\s*$", _F)
_AGE_GROUP_AFTER = re.compile(r"^\s*(?:\+|or\s+(?:older|over|above|more)|and\s+(?:older|over|above))", _F)


def _age_findings(text: str) -> list[PhiFinding]:
    found = []
    for pattern in _AGE_PATTERNS:
        for match in pattern.finditer(text):
            if int(match.group("age")) <= 89:
                continue
            if _AGE_GROUP_BEFORE.search(text[max(0, match.start() - 15) : match.start()]):
                continue
            if _AGE_GROUP_AFTER.match(text[match.end() : match.end() + 15]):
                continue
            found.append(PhiFinding(match.start(), match.end(), "age", match.group()))
    return found


def _is_real_date(text: str) -> bool:
    """Numeric dates need a valid month: 13/14/2024 is not a date, and neither is a score like 4/5."""
    parts = re.split(r"[/.-]", text)
    if len(parts) != 3:
        return True
    numbers = [int(p) for p in parts]
    if len(parts[0]) == 4:  # year first
        return 1 <= numbers[1] <= 12
    # month/day or day/month: at least one reading must have a month of 1 to 12
    return numbers[0] <= 12 or numbers[1] <= 12


_UNIT_AFTER = re.compile(r"^\s*(?:mg|mcg|µg|g|kg|ml|l|units?|iu|%|mmol|meq|tabs?|tablets?|times|x)\b", _F)


def _date_findings(text: str) -> list[PhiFinding]:
    found = []
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            group = "date" if "date" in pattern.groupindex else 0
            if group == 0 and not _is_real_date(match.group()):
                continue
            if _UNIT_AFTER.match(text[match.end() : match.end() + 12]):
                continue  # "5-10-15 mg" is a titration, not a date
            found.append(PhiFinding(match.start(group), match.end(group), "date", match.group(group)))
    return found


def _name_findings(text: str) -> list[PhiFinding]:
    found = []
    for pattern in (_TITLED_NAME, _LABELLED_NAME, _NAMED, _RELATIVE_NAME, _NAME_INTRODUCES_CASE, _SIGNED):
        for match in pattern.finditer(text):
            words = list(re.finditer(r"\S+", match.group("name")))
            # drop sentence words the pattern swallowed after the name ("Dr. Smith Today ...")
            while words and words[-1].group().lower() in _NOT_NAMES:
                words.pop()
            if not words or any(w.group().lower() in _NOT_NAMES for w in words):
                continue
            start = match.start("name")
            end = start + words[-1].end()
            found.append(PhiFinding(start, end, "name", text[start:end]))
    return found


def _phone_findings(text: str) -> list[PhiFinding]:
    found = []
    for match in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if len(digits) < 10:
            continue
        kind = "fax" if _FAX_LABEL.search(text[max(0, match.start() - 20) : match.start()]) else "phone"
        found.append(PhiFinding(match.start(), match.end(), kind, match.group()))
    for match in _PHONE_LABELLED_DIGITS.finditer(text):
        kind = "fax" if match.group("label").lower() == "fax" else "phone"
        found.append(PhiFinding(match.start("number"), match.end("number"), kind, match.group("number")))
    return found


def _url_findings(text: str) -> list[PhiFinding]:
    found = []
    for match in _URL.finditer(text):
        url = match.group().rstrip(".,;:")
        host = urlsplit(url if "://" in url else "http://" + url).hostname or ""
        if host.endswith(_PUBLIC_HOST_SUFFIXES) or host in {s.lstrip(".") for s in _PUBLIC_HOST_SUFFIXES}:
            continue
        found.append(PhiFinding(match.start(), match.start() + len(url), "url", url))
    return found


def _ip_findings(text: str) -> list[PhiFinding]:
    found = []
    for pattern in (_IPV4, _IPV6):
        for match in pattern.finditer(text):
            try:
                ipaddress.ip_address(match.group())
            except ValueError:
                continue
            found.append(PhiFinding(match.start(), match.end(), "ip", match.group()))
    return found


def _group_findings(text: str, kind: str, pattern: re.Pattern[str], group: str | int = 0) -> list[PhiFinding]:
    return [PhiFinding(m.start(group), m.end(group), kind, m.group(group)) for m in pattern.finditer(text)]


def find_phi(text: str) -> list[PhiFinding]:
    """Every Safe Harbor identifier found in the text, each with its kind and span, in text order.

    Where two findings overlap, the longer one is kept (a phone inside an address line, a date
    inside a labelled number), so each span of text is reported once.
    """
    found: list[PhiFinding] = [
        *_name_findings(text),
        *_age_findings(text),
        *_date_findings(text),
        *_phone_findings(text),
        *_group_findings(text, "email", _EMAIL),
        *_url_findings(text),
        *_ip_findings(text),
        *_group_findings(text, "ssn", _SSN),
        *_group_findings(text, "ssn", _SSN_LABELLED, "id"),
        *_group_findings(text, "address", _STREET),
        *_group_findings(text, "address", _PO_BOX),
        *_group_findings(text, "address", _CITY_STATE_ZIP, "place"),
        *_group_findings(text, "address", _LIVES_IN, "place"),
        *_group_findings(text, "zip", _ZIP_AFTER_STATE, "zip"),
        *_group_findings(text, "zip", _ZIP_LABELLED, "zip"),
        *_group_findings(text, "vehicle", _VIN),
        *_group_findings(text, "biometric", _BIOMETRIC),
        *_group_findings(text, "photo", _PHOTO),
    ]
    for kind, pattern in _LABELLED_IDS:
        found.extend(f for f in _group_findings(text, kind, pattern, "id") if not re.fullmatch(_YEAR, f.text))
    return _without_overlaps(found)


def _without_overlaps(findings: list[PhiFinding]) -> list[PhiFinding]:
    # Longest first, then earlier kinds in KINDS order win ties (a labelled MRN beats "other id").
    order = {kind: i for i, kind in enumerate(KINDS)}
    kept: list[PhiFinding] = []
    for finding in sorted(findings, key=lambda f: (-(f.end - f.start), order[f.kind], f.start)):
        if all(finding.end <= k.start or finding.start >= k.end for k in kept):
            kept.append(finding)
    return sorted(kept)
