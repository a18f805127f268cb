"""Batch pages tell the truth about a batch, and a release says what it lets out and asks first."""

import re

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from review.models import Batch, ReviewItem
from synth.models import Candidate

HTMX = {"HX-Request": "true"}


def generate(sample: float, count: int = 6) -> Batch:
    call_command(
        "generate", technique="self_instruct", count=count, sample=sample, domain=["infectious-disease"]
    )
    return Batch.objects.order_by("-pk").first()


@pytest.fixture
def demo(db):
    call_command("seed_demo", "--no-users")


@pytest.fixture
def reviewed_batch(demo, client, physician, data_lead):
    """Half of a demo run sampled, every sampled item accepted on the review page."""
    batch = generate(sample=0.5)
    client.force_login(physician)
    page = client.get(reverse("review:review")).text
    while 'data-assignment="' in page:
        assignment = re.search(r'data-assignment="(\d+)"', page).group(1)
        page = client.post(
            reverse("review:decide", args=[assignment]), {"verdict": "accept"}, headers=HTMX
        ).text
    # The demo's default threshold (0.9) is out of reach for a sample of three: lower it, as an
    # administrator's sampling policy would.
    Batch.objects.filter(pk=batch.pk).update(acceptance_threshold=0.3)
    client.force_login(data_lead)
    return batch


def release_url(batch: Batch) -> str:
    return reverse("review:batch_release", args=[batch.pk])


def test_it_shows_a_batch_with_nothing_sampled_as_such(demo, client, data_lead):
    batch = generate(sample=0.0)
    assert ReviewItem.objects.filter(batch=batch).count() == 0
    client.force_login(data_lead)
    listing = client.get(reverse("review:batch_list")).text
    assert "not sampled: nothing to judge 6 records by" in listing
    assert "under review" not in listing
    page = client.get(reverse("review:batch_detail", args=[batch.pk])).text
    assert "No item of this batch was sampled for review" in page and "under review" not in page
    assert 'data-testid="release-link"' not in page
    refused = client.post(release_url(batch), {"confirm": "6"})
    assert refused.status_code == 422 and "not fully reviewed" in refused.text
    batch.refresh_from_db()
    assert batch.released_at is None


def test_it_shows_an_empty_batch_as_empty(demo, client, data_lead):
    batch = generate(sample=0.0)
    # Every candidate filtered (as a run whose output all duplicates earlier records would be).
    Candidate.objects.filter(run_id=batch.run_id).update(status=Candidate.Status.FILTERED)
    client.force_login(data_lead)
    assert "empty: nothing to review or release" in client.get(reverse("review:batch_list")).text
    page = client.get(reverse("review:batch_detail", args=[batch.pk])).text
    assert "This batch is empty" in page and "under review" not in page


def test_a_batch_under_review_says_how_far_it_got(demo, client, data_lead):
    generate(sample=0.5)
    client.force_login(data_lead)
    assert "sample under review (0 of 3 decided)" in client.get(reverse("review:batch_list")).text


def test_the_release_shows_what_it_lets_out_before_asking(reviewed_batch, client):
    page = client.get(reverse("review:batch_detail", args=[reviewed_batch.pk])).text
    assert f'href="{release_url(reviewed_batch)}"' in page  # a link to the confirmation, not a release
    confirm = client.get(release_url(reviewed_batch))
    assert confirm.status_code == 200
    text = confirm.text
    assert "3 records that no physician reviewed" in text
    assert "3 of 3 approved" in text and "lower bound of the 95 % Wilson interval 0.439" in text
    assert 'name="csrfmiddlewaretoken"' in text and 'name="confirm" value="3"' in text
    reviewed_batch.refresh_from_db()
    assert reviewed_batch.released_at is None  # looking is not releasing


def test_a_release_without_the_confirmation_is_refused_and_changes_nothing(reviewed_batch, client):
    for data in ({}, {"confirm": ""}, {"confirm": "all"}):
        refused = client.post(release_url(reviewed_batch), data)
        assert refused.status_code == 422
        assert "Nothing was released: confirm the release on its confirmation page" in refused.text
        assert 'name="confirm" value="3"' in refused.text  # the confirmation, right there
    reviewed_batch.refresh_from_db()
    assert reviewed_batch.released_at is None and reviewed_batch.released_by is None


def test_a_release_confirmed_for_another_count_is_refused(reviewed_batch, client):
    refused = client.post(release_url(reviewed_batch), {"confirm": "2"})
    assert refused.status_code == 422
    assert "you confirmed 2 records, but the batch now has 3 unreviewed records" in refused.text
    reviewed_batch.refresh_from_db()
    assert reviewed_batch.released_at is None


def test_the_confirmed_release_releases(reviewed_batch, client, data_lead):
    released = client.post(release_url(reviewed_batch), {"confirm": "3"})
    assert released.status_code == 302
    reviewed_batch.refresh_from_db()
    assert reviewed_batch.released_by == data_lead and reviewed_batch.released_at is not None
    page = client.get(reverse("review:batch_detail", args=[reviewed_batch.pk])).text
    assert 'data-testid="released"' in page


def test_a_release_needs_the_csrf_token(reviewed_batch, data_lead):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(data_lead)
    assert browser.post(release_url(reviewed_batch), {"confirm": "3"}).status_code == 403
    reviewed_batch.refresh_from_db()
    assert reviewed_batch.released_at is None


def test_a_physician_sees_no_release_confirmation(demo, client, physician):
    batch = generate(sample=0.5)
    client.force_login(physician)
    assert client.get(release_url(batch)).status_code == 403
    assert client.post(release_url(batch), {"confirm": "3"}).status_code == 403
