"""The launch form shows which sampling rule will apply, and the run page the rule that did (issue 11,
point 7): a default sampling policy overrides the form's "Share sent to physicians", and says so."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from review.models import ReviewItem, SamplingPolicy, SamplingRule
from synth.models import Domain, GenerationRun, Teacher


@pytest.fixture
def admin(db, client):
    call_command("seed_demo", stdout=StringIO())
    client.force_login(get_user_model().objects.get(username="admin"))
    return client


@pytest.fixture
def default_policy(admin):
    policy = SamplingPolicy.objects.create(
        name="Light touch", rate=0.2, min_per_stratum=1, overlap_fraction=0.5
    )
    SamplingRule.objects.create(policy=policy, domain=Domain.objects.get(slug="cardiology"), rate=1.0)
    return policy


def text_of(response) -> str:
    return " ".join(response.content.decode().split())


def launch(client, captured, **overrides):
    form = {
        "teacher": Teacher.objects.get(name="offline").pk,
        "technique": "self_instruct",
        "requested_count": 6,
        "sample_percent": 100,
        "domains": [Domain.objects.get(slug="respiratory").pk],
        **overrides,
    }
    with captured(execute=True):
        r = client.post(reverse("synth:run_new"), form)
    assert r.status_code == 302, r.content.decode()[:2000]
    return GenerationRun.objects.order_by("-pk").first(), r.url


def test_without_a_policy_the_form_and_the_run_page_show_the_runs_share(
    admin, django_capture_on_commit_callbacks
):
    page = text_of(admin.get(reverse("synth:run_new")))
    assert "Sent to physicians: 50% of the candidates that pass the quality gate (the run" in page
    shown = admin.get(reverse("synth:run_estimate"), {"sample_percent": 30, "technique": "self_instruct"})
    assert 'id="sampling-rule"' in shown.text and 'hx-swap-oob="true"' in shown.text
    assert "30% of the candidates" in shown.text

    run, url = launch(admin, django_capture_on_commit_callbacks, sample_percent=100)
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    assert [rule["policy"] for rule in run.sampling_rules] == [""]
    page = text_of(admin.get(url))
    assert "Sent to physicians by the run's own share: 100% of the candidates" in page
    assert ReviewItem.objects.filter(candidate__run=run).count() == run.generated_count - run.filtered_count


def test_a_default_policy_is_named_with_its_rates_on_the_form_and_on_the_run_page(
    admin, default_policy, django_capture_on_commit_callbacks
):
    page = text_of(admin.get(reverse("synth:run_new")))
    rule = page.split('data-testid="sampling-rule"', 1)[1].split("</p>", 1)[0]
    assert "default sampling policy <strong>Light touch</strong>, not by the share above" in rule
    assert "20% of each domain and technique" in rule
    assert "Cardiology × any technique: 100%" in rule
    assert "50% of the items reviewed by 2 physicians" in rule

    run, url = launch(admin, django_capture_on_commit_callbacks, sample_percent=100)
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    passed = run.generated_count - run.filtered_count
    sampled = ReviewItem.objects.filter(candidate__run=run).count()
    assert sampled == run.sampled_count < passed  # the policy's 20 %, not the form's 100 %
    [applied] = run.sampling_rules
    assert (
        applied["policy"] == "Light touch"
        and applied["rate"] == 0.2
        and applied["policy_id"] == default_policy.pk
    )

    page = text_of(admin.get(url))
    assert "default sampling policy <strong>Light touch</strong> (not the share asked for at launch)" in page
    assert "20% of each domain and technique" in page and "Share asked for at launch: 100%" in page


def test_the_run_page_keeps_the_rule_that_applied_after_the_policy_changes(
    admin, default_policy, django_capture_on_commit_callbacks
):
    _run, url = launch(admin, django_capture_on_commit_callbacks)
    default_policy.name, default_policy.rate = "Heavier", 0.9
    default_policy.save()
    page = text_of(admin.get(url))
    assert "Light touch" in page and "Heavier" not in page
    # ... while the form shows the policy as it is now, for the next run.
    assert "Heavier" in admin.get(reverse("synth:run_new")).text


def test_a_queued_run_shows_the_rule_that_will_apply(admin, default_policy):
    run = GenerationRun.objects.create(
        teacher=Teacher.objects.get(name="offline"),
        technique="self_instruct",
        requested_count=3,
        sample_rate=1,
    )
    page = text_of(admin.get(reverse("synth:run_detail", args=[run.pk])))
    assert "Will be sent to physicians when the run completes, by the default sampling policy" in page
    assert "Light touch" in page
