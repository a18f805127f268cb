"""The last PHI screen before a prompt leaves for a teacher: a prompt with findings is never sent.

Query sets and documents are screened when they come in, but prompts are also built from seed tasks,
kept instructions, physicians' edited wording and earlier replies (judge and re-ask prompts), any of
which can carry an identifier. So every prompt is screened again where calls leave (the dispatcher,
and the batch path); one with findings fails its call with reason `phi`, and what is recorded of it
has each message with findings replaced by the kinds found, so the record keeps no copy of it.

TEACHER_PHI_SCREEN_LOCAL=0 exempts the teachers on this machine (the offline teacher, and model
servers listed in TEACHER_LOCAL_HOSTS), whose prompts do not leave it. By default they are screened too.
"""

from __future__ import annotations

import httpx2
from django.conf import settings

from synth.quality.phi import KINDS, find_phi
from synth.teachers.base import Message, TeacherError
from synth.teachers.endpoint import listed_locally

PHI_REASON = "phi"


def screens_prompts(*, provider: str, base_url: str | None) -> bool:
    """Whether this teacher's prompts are screened (every teacher's, unless local ones are exempted)."""
    if settings.TEACHER_PHI_SCREEN_LOCAL:
        return True
    if provider == "offline":
        return False
    if not base_url:
        return True  # the provider's cloud service
    try:
        url = httpx2.URL(base_url)
    except httpx2.InvalidURL:
        return True
    port = url.port or (443 if url.scheme == "https" else 80)
    return not listed_locally(url.raw_host.decode("ascii").lower(), port, settings.TEACHER_LOCAL_HOSTS)


def withheld(messages: list[Message]) -> tuple[list[Message], list[str]]:
    """The messages with every one that has findings withheld whole (the screen finds identifiers, not
    always all of them: a name next to a found MRN may be missed), and the kinds found (none: clear)."""
    recorded: list[Message] = []
    kinds: list[str] = []
    for message in messages:
        found = list(dict.fromkeys(finding.kind for finding in find_phi(message.get("content", ""))))
        kinds += [kind for kind in found if kind not in kinds]
        if found:
            message = {**message, "content": f"[withheld, not sent: the PHI screen found {', '.join(found)}]"}
        recorded.append(message)
    return recorded, kinds


def phi_refusal(messages: list[Message]) -> tuple[list[Message], TeacherError] | None:
    """None if the prompt is clear; else what to record of it, and the call's error."""
    masked, kinds = withheld(messages)
    if not kinds:
        return None
    found = ", ".join(KINDS.get(kind, kind).lower() for kind in kinds)
    return masked, TeacherError(
        f"The prompt was not sent: the PHI screen found identifiers in it ({found}). Remove them from "
        "the material the prompt was built from (query, seed task, document or edit).",
        permanent=True,
        reason=PHI_REASON,
    )
