"""Physicians' edited wording of approved items joins the near-duplicate corpus.

synth never imports review, so review registers its kind of corpus text with synth's index: the final
revision of every item approved with an edit is signed and indexed like a seed task or a kept
candidate (an item accepted as is is there already, as its candidate), and a later candidate that
repeats it is dropped, naming the revision.
"""

from __future__ import annotations

from review.models import APPROVING_VERDICTS, ItemRevision, ReviewItem
from synth.models import MinHashSignature
from synth.quality.corpus import CorpusSource, register_source, task_text


def _final_revisions():
    # Tasks only: a preference pair's prompt is borrowed from a task, and pairs have their own corpus.
    approved = ReviewItem.objects.filter(
        status=ReviewItem.Status.DECIDED,
        final_verdict__in=APPROVING_VERDICTS,
        final_revision__isnull=False,
        candidate__rejected_output="",
    )
    return ItemRevision.objects.filter(pk__in=approved.values("final_revision"))


def _texts(ids):
    revisions = _final_revisions() if ids is None else ItemRevision.objects.filter(pk__in=list(ids))
    return ((r.pk, task_text(r.instruction, r.input)) for r in revisions.only("pk", "instruction", "input"))


def _eligible(ids, candidate):
    revisions = _final_revisions().filter(pk__in=ids)
    if candidate is not None and candidate.pk:
        # work on earlier candidates only: never the candidate's own revision, and (as for
        # candidates) re-gating never lets a later copy win
        revisions = revisions.filter(item__candidate_id__lt=candidate.pk)
    return set(revisions.values_list("pk", flat=True))


def register() -> None:
    register_source(CorpusSource(MinHashSignature.Kind.REVISION, _texts, _eligible))
