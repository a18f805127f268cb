"""What a reviewer's browser may keep of their unsent work: an opaque scope and a key, per user.

The review page keeps every keystroke of the decision form in localStorage, so that a session that
expires mid-edit loses nothing: the same reviewer logs in again and gets the edit back. A ward's
computer is shared, so what is kept is encrypted (AES-GCM, in the browser) with a key only that
reviewer's pages are given, and filed under an opaque scope rather than their name; any page signed in
as someone else drops it, and logging out clears it. Both are derived from the SECRET_KEY, stable
across the reviewer's sessions (a new session must read what the expired one kept) and changed by a
new password.
"""

from __future__ import annotations

import base64

from django.utils.crypto import salted_hmac


def _derived(purpose: str, user) -> bytes:
    # The password hash is part of the input: a password reset makes anything kept before it unreadable.
    return salted_hmac(
        f"review.kept_work.{purpose}", f"{user.pk}:{user.password}", algorithm="sha256"
    ).digest()


def kept_work_scope(user) -> str:
    """The opaque name the user's kept work is filed under in the browser (not their name or id)."""
    return _derived("scope", user).hex()[:32]


def kept_work_key(user) -> str:
    """The user's 256-bit AES-GCM key for their kept work, base64-encoded for the page."""
    return base64.b64encode(_derived("key", user)).decode("ascii")
