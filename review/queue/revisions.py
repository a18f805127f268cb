"""Revisions: an edited text (a reviewer's or a senior's), checked against the version it was made on
and PHI-screened on its whole text before it is stored."""

from __future__ import annotations

from django.db.models import Max

from review.models import ItemRevision, Preference, ReviewItem
from review.queue.errors import ReviewError
from review.selectors.reviewing import current_version, original_output
from synth.quality.phi import KINDS as PHI_KINDS
from synth.quality.phi import SCREEN_VERSION, find_phi
from synth.quality.verdict import TEXT_FIELDS


def _based_on(based_on) -> int:
    """The version an edit was made on, as the page sent it: required, a version number."""
    if based_on is None or based_on == "":
        raise ReviewError(
            "This edit does not say which version of the item it was made on, so it cannot be checked "
            "against later changes: nothing was saved. Your text is kept below; save it again from this page."
        )
    if isinstance(based_on, str) and based_on.isascii() and based_on.isdigit():
        based_on = int(based_on)
    if isinstance(based_on, bool) or not isinstance(based_on, int) or based_on < 0:
        raise ReviewError(
            f"This edit names version '{based_on}' of the item, which is not a version number (0 is the "
            "original): nothing was saved. Your text is kept below; save it again from this page."
        )
    return based_on


def _phi_findings(item: ReviewItem, texts: dict[str, str], preference: str) -> list[dict]:
    """The PHI screen on an edit's whole text, plus a pair's other response, which exports carry too."""
    fields = dict(texts)
    if item.candidate.is_pair:
        other = (
            item.candidate.output
            if preference == Preference.REJECTED_OUTPUT
            else item.candidate.rejected_output
        )
        fields["rejected_output"] = other
    labels = dict(TEXT_FIELDS)
    return [
        {"field": name, "field_label": labels[name], "label": PHI_KINDS[f.kind], **f.as_dict()}
        for name, text in fields.items()
        for f in find_phi(text)
    ]


def store_revision(item, author, instruction, task_input, output, based_on, preference="") -> ItemRevision:
    """Store an edit as the item's next version; refused when empty, unchanged or made on another version."""
    instruction, task_input, output = (
        (instruction or "").strip(),
        (task_input or "").strip(),
        (output or "").strip(),
    )
    if not instruction:
        raise ReviewError("The instruction cannot be empty.")
    if not output:
        raise ReviewError(
            "The edited response cannot be empty. Write the corrected answer, or reject the item."
        )
    based_on = _based_on(based_on)
    number, old_instruction, old_input, old_current = current_version(item)
    if based_on != number:
        raise ReviewError(
            f"This item changed since you opened it (you edited version {based_on}; it now reads as "
            f"version {number}). Your text is kept below: reload the item to see its text, then apply "
            "your change to it."
        )
    old_output = original_output(item, preference, current_output=old_current)
    if (instruction, task_input, output) == (old_instruction.strip(), old_input.strip(), old_output.strip()):
        raise ReviewError("You did not change anything. Change the text, or accept the item as it is.")
    findings = _phi_findings(
        item, {"instruction": instruction, "input": task_input, "output": output}, preference
    )
    next_number = (item.revisions.aggregate(n=Max("number"))["n"] or 0) + 1
    return ItemRevision.objects.create(
        item=item,
        number=next_number,
        based_on=number,
        instruction=instruction,
        input=task_input,
        output=output,
        author=author,
        phi_findings=findings,
        has_phi=bool(findings),
        phi_free_under="" if findings else SCREEN_VERSION,
    )
