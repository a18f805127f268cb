"""The review queue's services: what changes state when physicians claim, decide and adjudicate.

- claims: leases on items (claim next, claim ahead, resume, show), at most HELD_AT_MOST per reviewer;
- decisions: verdicts, how they settle an item, and undo (decisions are append-only);
- revisions: edited texts, checked against the version they were made on and PHI-screened;
- drafts: autosaved unsent work, never written over a submitted decision;
- adjudication: a senior physician settles a disputed item;
- discussions: a reviewer's question to the senior physicians, the answer, and taking the item back.
Skipping a held item (claims.skip_item) and revising an old decision (decisions.revise_decision) are
with the claims and decisions they change.

What pages read (the text shown, progress, what is left, the adjudication lists) is in review.selectors.
tests/review/test_queue.py, test_queue_workspace.py and test_queue_concurrency.py hold the queue to its
rules, each stated in its module's docstring. The names below are re-exported for callers of the
single module this package replaced.
"""

from review.queue.adjudication import adjudicate
from review.queue.claims import (
    CLAIM_LOOKS,
    FAR_FUTURE,
    HELD_AT_MOST,
    claim_next,
    mark_shown,
    prefetch_next,
    show_next,
    skip_item,
)
from review.queue.decisions import (
    PAIR_CHOICES,
    revise_decision,
    revision_refusal,
    submit_decision,
    undo_last_decision,
)
from review.queue.discussions import answer_discussion, flag_for_discussion, resume_discussed
from review.queue.drafts import save_draft
from review.queue.errors import NotYours, ReviewError
from review.selectors.adjudication import adjudication_queue, adjudication_scope
from review.selectors.reviewing import (
    LeftInQueue,
    current_assignment,
    current_version,
    held_draft,
    left_in_queue,
    original_output,
    progress,
)

__all__ = [
    "CLAIM_LOOKS",
    "FAR_FUTURE",
    "HELD_AT_MOST",
    "PAIR_CHOICES",
    "LeftInQueue",
    "NotYours",
    "ReviewError",
    "adjudicate",
    "adjudication_queue",
    "adjudication_scope",
    "answer_discussion",
    "claim_next",
    "current_assignment",
    "current_version",
    "flag_for_discussion",
    "held_draft",
    "left_in_queue",
    "mark_shown",
    "original_output",
    "prefetch_next",
    "progress",
    "resume_discussed",
    "revise_decision",
    "revision_refusal",
    "save_draft",
    "show_next",
    "skip_item",
    "submit_decision",
    "undo_last_decision",
]
