"""Review's part of the demo: the reviewer guidelines, written when `seed_demo` loads synth's demo data."""

from __future__ import annotations

from review.models import ReviewerGuideline

GUIDELINES_TITLE = "Reviewer guidelines (demo)"
GUIDELINES = """Review each item as you would a colleague's answer that will teach a clinical model. The \
instruction, any input, and the response together must be correct, safe and useful.

Accept when the response is accurate, complete for what was asked, and safe to learn from as it \
stands. Minor wording you would phrase differently is not a reason to edit.

Edit when the response is nearly right: fix the wrong fact, add the missing caveat, cut what is not \
supported. Your edit is saved as a new version; the original stays on record.

Reject when the item cannot be saved by a small edit: a wrong or unsafe answer, an instruction that \
makes no sense, a duplicate, or anything that identifies a patient (names, dates, places, record \
numbers). Choose every reason that applies; "Other" needs a comment.

Preference pairs: choose the response you would rather a model learn from, judged first on \
correctness and safety, then on completeness. Choose "tie" only when they are equally good, and \
"both unacceptable" when neither should be learned from.

Summaries of notes (Summarization): the summary must say only what the note says, keep the \
diagnosis and what is to be done, and be fit for its stated purpose (for example a referral letter).

Flags from the quality gate (unverified codes, unknown drug names, conflicts with the facts table) \
are hints, not verdicts: check them. When unsure, reject with "Other" and say why; the item goes to \
adjudication if another reviewer disagrees."""


def load_reviewer_guidelines() -> int:
    """The demo's guidelines, once: none are written when any exist (an administrator's are kept)."""
    if ReviewerGuideline.objects.exists():
        return 0
    ReviewerGuideline.objects.create(title=GUIDELINES_TITLE, body=GUIDELINES)
    return 1
