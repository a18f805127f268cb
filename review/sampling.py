"""Choosing which candidates of a finished run physicians review, and how many physicians each.

Without a sampling policy, a run's own share (`GenerationRun.sample_rate`) is drawn at random from
its passed candidates. With one (the run's own, else the default), the draw is stratified by domain
and technique: each stratum gets its rule's rate (domain and technique, then domain, then technique,
then the policy's rate), at least `min_per_stratum`, and every candidate of a high-risk domain. An
`overlap_fraction` of the sampled items then needs `overlap_reviewers` independent reviewers.
Applying a policy to a batch again only adds: nothing sampled or decided is taken away.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from typing import Any

from django.db import transaction
from django.utils import timezone

from review.models import Batch, ReviewItem, SamplingPolicy
from synth.models import Candidate, GenerationRun
from synth.review_sample import describe_share

# Ids in one statement's IN list, well under the 65,535 parameters of a server-side-bound statement.
IDS_PER_STATEMENT = 10_000


def sample_size(passed: int, rate: float) -> int:
    """How many of `passed` candidates a `rate` sends to review: at least one when the rate is above 0."""
    if passed == 0 or rate <= 0:
        return 0
    return min(passed, max(1, math.floor(passed * rate + 0.5)))


def policy_for(run: GenerationRun) -> SamplingPolicy | None:
    """The run's own policy, else the newest default one, else None (the run's share applies)."""
    own = SamplingPolicy.objects.filter(run=run).prefetch_related("rules").first()
    if own is not None:
        return own
    return default_policy()


def default_policy() -> SamplingPolicy | None:
    return SamplingPolicy.objects.filter(run__isnull=True).prefetch_related("rules").order_by("-pk").first()


def describe_policy(policy: SamplingPolicy) -> dict[str, Any]:
    """A policy as the launch form and the run page show it (and as the run records it)."""
    rules = [
        {
            "domain": rule.domain.name if rule.domain_id else "",
            "technique": rule.get_technique_display() if rule.technique else "",
            "rate": rule.rate,
        }
        for rule in policy.rules.select_related("domain").order_by("pk")
    ]
    parts = [f"{policy.rate:.0%} of each domain and technique"]
    parts += [
        f"{r['domain'] or 'any domain'} × {r['technique'] or 'any technique'}: {r['rate']:.0%}" for r in rules
    ]
    parts.append(f"at least {policy.min_per_stratum} per stratum")
    parts.append("every candidate of a high-risk domain")
    if policy.overlap_fraction:
        parts.append(
            f"{policy.overlap_fraction:.0%} of the items reviewed by {policy.overlap_reviewers} physicians"
        )
    return {
        "policy": policy.name,
        "policy_id": policy.pk,
        "own": policy.run_id is not None,
        "rate": policy.rate,
        "rules": rules,
        "min_per_stratum": policy.min_per_stratum,
        "overlap_fraction": policy.overlap_fraction,
        "overlap_reviewers": policy.overlap_reviewers,
        "summary": "; ".join(parts),
    }


def rule_for(run: GenerationRun | None, sample_rate: float) -> dict[str, Any]:
    """The rule that will apply to a run (or to a run launched now, with `sample_rate` as its share)."""
    policy = policy_for(run) if run is not None else default_policy()
    return describe_policy(policy) if policy is not None else describe_share(sample_rate)


def _record_rule(run: GenerationRun, rule: dict[str, Any]) -> None:
    """Keep on the run the rule that was applied (each time one is), so its page shows what happened."""
    run = GenerationRun.objects.select_for_update().get(pk=run.pk)
    run.sampling_rules = [*run.sampling_rules, {**rule, "applied_at": timezone.now().isoformat()}]
    run.save(update_fields=["sampling_rules"])


def stratum_rate(policy: SamplingPolicy, domain_id: int | None, technique: str) -> float:
    """The most specific rule's rate for a stratum, else the policy's own."""
    best, best_rank = policy.rate, -1
    for rule in policy.rules.all():
        if rule.domain_id not in (None, domain_id) or rule.technique not in ("", technique):
            continue
        rank = (rule.domain_id is not None) * 2 + (rule.technique != "")
        if rank > best_rank:
            best, best_rank = rule.rate, rank
    return best


def stratum_target(policy: SamplingPolicy, size: int, rate: float, high_risk: bool) -> int:
    if high_risk:
        return size
    return min(size, max(policy.min_per_stratum, math.floor(size * rate + 0.5)))


def sample_run(run: GenerationRun) -> Batch:
    """Put a reproducible sample of the run's passed candidates in the review queue (once per run).

    Candidates in high-risk domains are always reviewed. Calling it again changes nothing.
    """
    with transaction.atomic():
        policy = policy_for(run)
        batch, created = Batch.objects.get_or_create(
            run=run,
            defaults={
                "sample_rate": policy.rate if policy else run.sample_rate,
                "acceptance_threshold": policy.acceptance_threshold if policy else 0.9,
            },
        )
        if not created:
            return batch
        if policy is not None:
            return apply_policy(batch, policy)
        passed = list(
            run.candidates.filter(status=Candidate.Status.PASSED)
            .select_related("domain")
            .order_by("sequence")
        )
        always = [c for c in passed if c.domain is not None and c.domain.high_risk]
        always_ids = {c.pk for c in always}
        others = [c for c in passed if c.pk not in always_ids]
        rng = random.Random(f"sample:{run.pk}")
        chosen = always + rng.sample(others, sample_size(len(others), run.sample_rate))
        chosen.sort(key=lambda c: c.sequence)
        ReviewItem.objects.bulk_create(ReviewItem(candidate=c, batch=batch) for c in chosen)
        batch.passed_count = len(passed)
        batch.save(update_fields=["passed_count"])
        GenerationRun.objects.filter(pk=run.pk).update(sampled_count=len(chosen))
        _record_rule(run, describe_share(run.sample_rate))
    return batch


def apply_policy(batch: Batch, policy: SamplingPolicy) -> Batch:
    """Sample the batch's run by `policy`, adding to what is already sampled (reproducibly)."""
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch.pk)
        run = batch.run
        passed = list(
            run.candidates.filter(status=Candidate.Status.PASSED)
            .select_related("domain")
            .order_by("sequence")
        )
        sampled = set(ReviewItem.objects.filter(batch=batch).values_list("candidate_id", flat=True))
        strata: dict[tuple[int | None, str], list[Candidate]] = defaultdict(list)
        for candidate in passed:
            strata[(candidate.domain_id, candidate.technique)].append(candidate)
        rng = random.Random(f"sample:{run.pk}:{policy.pk}")
        new: list[Candidate] = []
        for (domain_id, technique), members in sorted(
            strata.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1])
        ):
            high_risk = members[0].domain is not None and members[0].domain.high_risk
            target = stratum_target(
                policy, len(members), stratum_rate(policy, domain_id, technique), high_risk
            )
            have = [c for c in members if c.pk in sampled]
            free = [c for c in members if c.pk not in sampled]
            if target > len(have):
                new.extend(rng.sample(free, target - len(have)))
        new.sort(key=lambda c: c.sequence)
        ReviewItem.objects.bulk_create(ReviewItem(candidate=c, batch=batch) for c in new)

        # Overlap: enough items of the batch need several independent reviewers.
        items = ReviewItem.objects.filter(batch=batch)
        want = math.floor(items.count() * policy.overlap_fraction + 0.5)
        have_overlap = items.filter(required_reviews__gte=policy.overlap_reviewers).count()
        if want > have_overlap:
            open_ids = sorted(
                items.filter(
                    status=ReviewItem.Status.PENDING, required_reviews__lt=policy.overlap_reviewers
                ).values_list("pk", flat=True)
            )
            chosen = rng.sample(open_ids, min(len(open_ids), want - have_overlap))
            # In slices: a statement bound on the PostgreSQL server carries at most 65,535 parameters.
            for start in range(0, len(chosen), IDS_PER_STATEMENT):
                ReviewItem.objects.filter(pk__in=chosen[start : start + IDS_PER_STATEMENT]).update(
                    required_reviews=policy.overlap_reviewers
                )

        batch.passed_count = len(passed)
        batch.sample_rate = policy.rate
        batch.acceptance_threshold = policy.acceptance_threshold
        batch.save(update_fields=["passed_count", "sample_rate", "acceptance_threshold"])
        GenerationRun.objects.filter(pk=run.pk).update(sampled_count=items.count())
        _record_rule(run, describe_policy(policy))
    return batch
