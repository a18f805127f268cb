"""Taking an API key out of text a teacher sent back, in every spelling a server may echo it in.

Some servers echo the key they were sent: in an error ("invalid key sk-..."), in a URL they quote
(percent-encoded), inside a JSON string (escaped), or in an Authorization header they reflect
(base64, as in HTTP Basic). Every text from a teacher passes through `redact_key` before it is
stored or shown; both providers use this one function.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import quote, quote_plus

from django.views.debug import SafeExceptionReporterFilter
from django.views.decorators.debug import sensitive_variables

REDACTED = "[redacted]"
# Very short keys are placeholders (Ollama ignores the key; "EMPTY" for vLLM), and replacing them would
# garble ordinary words.
MIN_KEY_LENGTH = 8


def _base64_spellings(key: bytes) -> set[str]:
    """The run of base64 characters that encodes the key alone, at each of the three alignments.

    Inside a longer base64 text (e.g. "user:key" in a Basic header) the key starts 0, 1 or 2 bytes into
    a 3-byte group; the characters wholly determined by the key's bits are the same whatever
    surrounds it, so matching them finds the key whatever came before or after.
    """
    spellings = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + key).decode()
        start = -(-8 * offset // 6)  # first character made only of the key's bits
        end = 8 * (offset + len(key)) // 6  # last character not mixed with padding or what follows
        core = encoded[start:end]
        spellings |= {core, core.replace("+", "-").replace("/", "_")}
    return spellings


@sensitive_variables()  # holds the key
def key_spellings(key: str) -> list[str]:
    """Every spelling of the key to take out, longest first (so a longer one is replaced whole)."""
    if len(key) < MIN_KEY_LENGTH:
        return []
    raw = key.encode()
    spellings = {
        key,
        quote(key, safe=""),
        quote_plus(key, safe=""),
        json.dumps(key)[1:-1],
        json.dumps(key, ensure_ascii=False)[1:-1],
        json.dumps(key)[1:-1].replace("/", "\\/"),
        *_base64_spellings(raw),
    }
    # Percent-encoding with lower-case hex digits is the same escape.
    spellings |= {re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), s) for s in spellings if "%" in s}
    return sorted((s for s in spellings if len(s) >= MIN_KEY_LENGTH), key=len, reverse=True)


@sensitive_variables()
def redact_key(text: str, key: str) -> str:
    """`text` with every spelling of `key` replaced by [redacted]."""
    if not text:
        return text
    for spelling in key_spellings(key):
        if spelling in text:
            text = text.replace(spelling, REDACTED)
    return text


@sensitive_variables()
def redact_key_in(value: Any, key: str) -> Any:
    """The same for parsed JSON (a reply's structured data): every string in it, keys included."""
    if isinstance(value, str):
        return redact_key(value, key)
    if isinstance(value, list):
        return [redact_key_in(item, key) for item in value]
    if isinstance(value, dict):
        return {redact_key(str(k), key): redact_key_in(v, key) for k, v in value.items()}
    return value


class KeepSecretsExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, active under DEBUG too (settings.DEFAULT_EXCEPTION_REPORTER_FILTER).

    Django hides `sensitive_variables` and `sensitive_post_parameters` only when DEBUG is off; `make
    demo` runs with DEBUG on, against real teachers, so a debug page must not show a key either.
    """

    def is_active(self, request) -> bool:
        return True
