"""The export's last gate: a record with possible PHI, an empty message or a pair that is no pair is
withheld and counted, never written.

Text is screened on its way into the studio (the gate) and on every edit, and each row is stamped with
the screen that found it free of PHI (`phi_free_under`). A record is written only from texts the
current screen has passed: if every row its texts come from carries the current screen's stamp, the
same screen would find nothing now, and the record is not screened again; otherwise (the screen
changed since, a row never stamped, a row the gate held back) its texts are screened here, exactly as
the record holds them. A withheld record is counted once, under the first reason that applies, in
WITHHELD order.
"""

from __future__ import annotations

from functools import lru_cache

from synth.quality.phi import find_phi

# Reason: what the manifest, the dataset card and the dashboard call it.
WITHHELD = {
    "phi": "possible PHI",
    "empty": "an empty message",
    "identical_pair": "chosen and rejected the same",
}


@lru_cache(maxsize=8192)
def _has_phi(text: str) -> bool:
    # The screen is the export's main cost (about a millisecond for a long answer): a prompt shared by
    # several records (pairs, the same seed task) is screened once.
    return bool(find_phi(text))


def _same(a: str, b: str) -> bool:
    """The same text once whitespace is normalised: such a pair teaches a preference for nothing."""
    return a.split() == b.split()


def withheld_reason(
    *, kind: str, instruction: str, task_input: str, chosen: str, rejected: str | None, screened: bool = False
) -> str:
    """Why this record must not be written ("" if it may be): the texts are those the record holds;
    `screened`: they all come from rows the current PHI screen stamped free of PHI."""
    if not screened:
        texts = [instruction, task_input, chosen] + ([rejected or ""] if kind == "dpo" else [])
        if any(text and _has_phi(text) for text in texts):
            return "phi"
    if not instruction.strip() or not chosen.strip() or (kind == "dpo" and not (rejected or "").strip()):
        return "empty"
    if kind == "dpo" and _same(chosen, rejected or ""):
        return "identical_pair"
    return ""


def withheld_summary(withheld: dict[str, int]) -> str:
    """ "phi 3, empty 1": the non-zero counts, in WITHHELD order."""
    return ", ".join(f"{reason} {withheld[reason]}" for reason in WITHHELD if withheld.get(reason))
