"""Novelty score: ROUGE-L of a candidate's instruction against the instruction pool (Self-Instruct's measure).

The pool is every active seed task and every kept candidate made before this one (the most recent
POOL_LIMIT of them, to bound the cost per candidate). The score is stored; it filters nothing here:
Self-Instruct's own filter runs inside the technique (synth/techniques/self_instruct.py), and the
coverage report shows the distribution.
"""

from __future__ import annotations

from synth.models import Candidate, SeedTask
from synth.quality.checks.base import Check
from synth.quality.novelty import NoveltyPool
from synth.quality.verdict import Verdict

POOL_LIMIT = 5000


class NoveltyCheck(Check):
    """Passes every candidate with its highest ROUGE-L against the pool as the score."""

    name = "novelty"
    order = 90

    def verdict(self, candidate: Candidate) -> Verdict:
        sources: list[tuple[str, int]] = []
        pool = NoveltyPool()
        for pk, instruction in SeedTask.objects.filter(is_active=True).values_list("pk", "instruction"):
            pool.add(instruction)
            sources.append(("seed_task", pk))
        earlier = (
            Candidate.objects.filter(status=Candidate.Status.PASSED, pk__lt=candidate.pk)
            .order_by("-pk")
            .values_list("pk", "instruction")[:POOL_LIMIT]
        )
        for pk, instruction in earlier:
            pool.add(instruction)
            sources.append(("candidate", pk))
        match = pool.best_match(candidate.instruction)
        evidence: dict[str, object] = {"pool_size": len(pool)}
        if match.index is not None:
            kind, pk = sources[match.index]
            evidence["most_similar"] = {"kind": kind, "id": pk, "text": match.text}
        score = round(match.score, 4)
        return Verdict(
            self.name, True, f"ROUGE-L {score:.2f} against the instruction pool", evidence, score=score
        )
