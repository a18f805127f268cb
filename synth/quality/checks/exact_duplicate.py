"""The exact-duplicate check: a task (or pair) repeating an earlier one, once normalized, is filtered."""

from __future__ import annotations

from synth.models import Candidate, SeedTask
from synth.quality.checks.base import Check
from synth.quality.exact import content_hash
from synth.quality.verdict import Verdict


class ExactDuplicateCheck(Check):
    """A candidate repeating a seed task or an earlier kept candidate is dropped, naming the original.

    A preference pair is compared with earlier pairs only (prompt and both responses): its prompt is
    borrowed from a seed task or a kept candidate by design, so matching that would drop every pair.
    """

    name = "exact_duplicate"
    order = 30
    flag_title = "Exact duplicate"
    flag_order = 60
    funnel_label = "Exact duplicates"

    def verdict(self, candidate: Candidate) -> Verdict:
        earlier = (
            Candidate.objects.filter(content_hash=candidate.content_hash, status=Candidate.Status.PASSED)
            .filter(pk__lt=candidate.pk)  # re-gating never lets a later copy replace its original
            .filter(**({"rejected_output__gt": ""} if candidate.is_pair else {"rejected_output": ""}))
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
        if earlier is not None:
            kind, label = ("pair", "preference pair") if candidate.is_pair else ("candidate", "candidate")
            return Verdict(
                self.name,
                False,
                f"Exact duplicate of an earlier {label}",
                {"duplicate_of": {"kind": kind, "id": earlier}},
            )
        if candidate.is_pair:
            return Verdict(self.name, True)
        for seed in SeedTask.objects.filter(is_active=True).only("pk", "instruction", "input"):
            if content_hash(seed.instruction, seed.input) == candidate.content_hash:
                return Verdict(
                    self.name,
                    False,
                    "Exact duplicate of a seed task",
                    {"duplicate_of": {"kind": "seed_task", "id": seed.pk}},
                )
        return Verdict(self.name, True)
