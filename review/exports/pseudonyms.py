"""Reviewers' pseudonyms in an export, and the agreement report with pseudonyms in place of accounts.

No file of an export names a reviewer or holds a user id: exported data travels further than the
studio's accounts, and a pseudonym that is the account's id (`reviewer-7`) is an identity with one
look-up. A pseudonym is an HMAC of the user id: keyed by a random secret made for one export and kept
nowhere (two exports cannot be joined on their pseudonyms), or, when the data lead asks for stable
pseudonyms, keyed by the server's SECRET_KEY (the same reviewer has the same pseudonym in every export).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from django.utils.crypto import salted_hmac

# Keys of the agreement report that identify an account; dropped wherever they appear.
IDENTITY_KEYS = frozenset(
    {
        "reviewer_id",
        "reviewer_a_id",
        "reviewer_b_id",
        "user_id",
        "username",
        "email",
        "name",
        "adjudicator_id",
    }
)
_STABLE_SALT = "review.exports.stable-pseudonyms"


class Pseudonyms:
    """`pseudonyms(user_id)` is that user's pseudonym in this export ("reviewer-" and 12 hex digits)."""

    def __init__(self, *, stable: bool) -> None:
        self.stable = stable
        self._key = secrets.token_bytes(32)  # this export's own; never stored
        self._known: dict[int, str] = {}

    def __call__(self, user_id: int) -> str:
        if user_id not in self._known:
            if self.stable:
                digest = salted_hmac(_STABLE_SALT, str(user_id), algorithm="sha256").hexdigest()
            else:
                digest = hmac.new(self._key, str(user_id).encode(), hashlib.sha256).hexdigest()
            self._known[user_id] = f"reviewer-{digest[:12]}"
        return self._known[user_id]


def _without_identities(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_identities(v) for k, v in value.items() if k not in IDENTITY_KEYS}
    if isinstance(value, list):
        return [_without_identities(v) for v in value]
    return value


def _pair(pair: dict[str, Any], pseudonyms: Pseudonyms) -> dict[str, Any]:
    """A pair ordered by pseudonym, not by user id (which would tell whose account is older)."""
    a, b = pseudonyms(pair["reviewer_a_id"]), pseudonyms(pair["reviewer_b_id"])
    pair = {**pair, "reviewer_a": a, "reviewer_b": b}
    if a > b:
        pair |= {"reviewer_a": b, "reviewer_b": a}
        confusion = pair.get("confusion")
        if confusion and "counts" in confusion:  # rows are reviewer a's verdicts: transpose
            pair["confusion"] = {
                **confusion,
                "counts": [list(row) for row in zip(*confusion["counts"], strict=True)],
            }
    return pair


def anonymised_report(report: dict[str, Any], pseudonyms: Pseudonyms) -> dict[str, Any]:
    """The agreement report with every figure kept and each reviewer a pseudonym (pairs included)."""
    pairs = [_pair(pair, pseudonyms) for pair in report.get("pairs", [])]
    reviewers = [{**row, "reviewer": pseudonyms(row["reviewer_id"])} for row in report.get("reviewers", [])]
    # Sorted by pseudonym: the report's order (by username) would say something about the names.
    pairs.sort(key=lambda p: (p["reviewer_a"], p["reviewer_b"]))
    reviewers.sort(key=lambda r: r["reviewer"])
    return _without_identities({**report, "pairs": pairs, "reviewers": reviewers})
