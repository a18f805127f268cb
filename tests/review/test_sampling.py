"""Sampling policies: stratified rates, minimum per stratum, high-risk in full, overlap for double review."""

from collections import Counter

import pytest

from review.models import Batch, ReviewItem, SamplingPolicy, SamplingRule
from review.sampling import apply_policy, sample_run
from synth.models import Candidate, Domain, GenerationRun


@pytest.fixture
def finished_run(demo_config):
    """A completed run with 40 passed candidates in each of cardiology and neonatology (high-risk),
    half Self-Instruct and half Evol-Instruct, plus 10 filtered ones."""
    run = GenerationRun.objects.create(
        technique="self_instruct",
        teacher=demo_config,
        requested_count=90,
        sample_rate=0.5,
        status="completed",
    )
    sequence = 0
    for slug in ("cardiology", "neonatology"):
        domain = Domain.objects.get(slug=slug)
        for technique in ("self_instruct", "evol_instruct"):
            for n in range(20):
                sequence += 1
                Candidate.objects.create(
                    run=run,
                    sequence=sequence,
                    domain=domain,
                    technique=technique,
                    instruction=f"{slug} {technique} {n}",
                    output="answer",
                    status="passed",
                    content_hash=f"h{sequence}",
                    teacher_provider="offline",
                    teacher_model="offline",
                )
    for n in range(10):
        sequence += 1
        Candidate.objects.create(
            run=run,
            sequence=sequence,
            domain=Domain.objects.get(slug="cardiology"),
            technique="self_instruct",
            instruction=f"filtered {n}",
            output="x",
            status="filtered",
            content_hash=f"f{n}",
            teacher_provider="offline",
            teacher_model="offline",
        )
    return run


def strata(batch):
    return Counter(
        (item.candidate.domain.slug, item.candidate.technique)
        for item in ReviewItem.objects.filter(batch=batch).select_related("candidate__domain")
    )


def test_without_a_policy_the_runs_share_is_sampled_and_high_risk_in_full(finished_run):
    batch = sample_run(finished_run)
    counts = strata(batch)
    assert counts[("neonatology", "self_instruct")] == counts[("neonatology", "evol_instruct")] == 20
    assert counts[("cardiology", "self_instruct")] + counts[("cardiology", "evol_instruct")] == 20


def test_a_policy_samples_each_stratum_at_its_rate_and_high_risk_in_full(finished_run):
    policy = SamplingPolicy.objects.create(name="default", rate=0.1, min_per_stratum=3)
    SamplingRule.objects.create(policy=policy, technique="evol_instruct", rate=0.5)
    SamplingRule.objects.create(
        policy=policy, domain=Domain.objects.get(slug="cardiology"), technique="evol_instruct", rate=0.25
    )
    batch = sample_run(finished_run)
    counts = strata(batch)
    assert counts[("cardiology", "self_instruct")] == 3  # 10 % of 20 is 2: the minimum per stratum wins
    assert counts[("cardiology", "evol_instruct")] == 5  # the most specific rule: 25 %
    assert counts[("neonatology", "self_instruct")] == 20 == counts[("neonatology", "evol_instruct")]
    assert batch.sample_rate == 0.1
    assert not ReviewItem.objects.filter(candidate__status="filtered").exists()


def test_a_runs_own_policy_beats_the_default(finished_run):
    SamplingPolicy.objects.create(name="default", rate=1.0)
    SamplingPolicy.objects.create(name="light", run=finished_run, rate=0.0, min_per_stratum=1)
    counts = strata(sample_run(finished_run))
    assert counts[("cardiology", "self_instruct")] == 1


def test_the_overlap_fraction_of_items_needs_several_reviewers(finished_run):
    SamplingPolicy.objects.create(name="default", rate=0.5, overlap_fraction=0.25, overlap_reviewers=3)
    batch = sample_run(finished_run)
    items = ReviewItem.objects.filter(batch=batch)
    total = items.count()
    assert items.filter(required_reviews=3).count() == round(total * 0.25)
    assert items.filter(required_reviews=1).count() == total - round(total * 0.25)


def test_sampling_is_reproducible(finished_run):
    SamplingPolicy.objects.create(name="default", rate=0.3)
    batch = sample_run(finished_run)
    first = set(ReviewItem.objects.filter(batch=batch).values_list("candidate_id", flat=True))
    ReviewItem.objects.all().delete()
    Batch.objects.all().delete()
    again = sample_run(finished_run)
    assert set(ReviewItem.objects.filter(batch=again).values_list("candidate_id", flat=True)) == first


def test_applying_a_larger_policy_to_a_batch_only_adds(finished_run):
    batch = sample_run(finished_run)
    before = set(ReviewItem.objects.values_list("candidate_id", flat=True))
    apply_policy(batch, SamplingPolicy.objects.create(name="more", run=finished_run, rate=0.8))
    after = set(ReviewItem.objects.values_list("candidate_id", flat=True))
    assert before < after
    assert strata(batch)[("cardiology", "self_instruct")] >= 16
    finished_run.refresh_from_db()
    assert finished_run.sampled_count == len(after)


def test_the_administrator_samples_a_batch_by_its_policy_from_the_admin(
    client_for, administrator, finished_run
):
    batch = sample_run(finished_run)
    before = ReviewItem.objects.count()
    SamplingPolicy.objects.create(name="more", run=finished_run, rate=0.9)
    client = client_for(administrator)
    r = client.post(
        "/admin/review/batch/",
        {"action": "apply_sampling_policy", "_selected_action": [batch.pk]},
        follow=True,
    )
    assert r.status_code == 200 and "sampled by more" in r.text
    assert ReviewItem.objects.count() > before
