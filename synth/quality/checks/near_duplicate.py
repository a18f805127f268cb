"""The near-duplicate check: MinHash LSH over word shingles against the corpus, confirmed by Jaccard."""

from __future__ import annotations

from synth.models import Candidate, MinHashSignature
from synth.quality.checks.base import Check
from synth.quality.corpus import corpus_index, identity_text, kind_of
from synth.quality.verdict import Verdict


class NearDuplicateCheck(Check):
    """Dropped when its task's word shingles overlap an earlier corpus text's at or above the
    threshold (exact Jaccard, LSH proposing): names the original and the similarity. A pair is
    compared, as a whole (prompt and both responses), with earlier pairs only.

    The corpus is this process's index (synth/quality/corpus.py), topped up from the database on
    every call; the candidate's own signature is stored, so later candidates are compared with it.
    """

    name = "near_duplicate"
    order = 40
    flag_title = "Near-duplicate"
    flag_order = 50
    funnel_label = "Near-duplicates"

    def verdict(self, candidate: Candidate) -> Verdict:
        index = corpus_index()
        kind = kind_of(candidate)
        kinds = [kind] if candidate.is_pair else None
        match, signature = index.best_match(identity_text(candidate), candidate=candidate, kinds=kinds)
        index.store(kind, candidate.pk, signature)
        if match is None:
            return Verdict(self.name, True)
        label = (
            MinHashSignature.Kind(match.kind).label.lower()
            if match.kind in MinHashSignature.Kind
            else match.kind
        )
        return Verdict(
            self.name,
            False,
            f"Near-duplicate of {label} {match.id} (Jaccard {match.similarity:.2f})",
            {
                "duplicate_of": {"kind": match.kind, "id": match.id},
                "similarity": round(match.similarity, 4),
                "threshold": index.config.threshold,
                "scheme": index.config.scheme,
            },
            score=round(match.similarity, 4),
        )
