"""The review workspace's pages: drafts, undo, prefetch, pairs, guidelines, adjudication, batches."""

import re

import pytest
from django.urls import reverse

from review.models import (
    Adjudication,
    Assignment,
    Batch,
    Decision,
    ReviewDraft,
    ReviewerGuideline,
    ReviewItem,
)
from review.queue import claim_next, submit_decision
from synth.models import Candidate

HTMX = {"HX-Request": "true"}


def active(user):
    return Assignment.objects.filter(reviewer=user, status="active").order_by("claimed_at").first()


def test_a_draft_is_autosaved_with_a_diff_and_restored_on_reload(client_for, physician, review_items):
    client = client_for(physician)
    client.get(reverse("review:review"))
    assignment = active(physician)
    candidate = assignment.item.candidate
    r = client.post(
        reverse("review:draft", args=[assignment.pk]),
        {
            "panel": "edit",
            "instruction": candidate.instruction,
            "input": candidate.input,
            "output": "Draft <answer>",
        },
        headers=HTMX,
    )
    assert r.status_code == 200 and "Draft saved" in r.text
    assert "&lt;answer&gt;</ins>" in r.text and "<del>" in r.text
    page = client.get(reverse("review:review")).text
    assert "Your unsaved work on this item was restored" in page
    assert "Draft &lt;answer&gt;</textarea>" in page
    assert 'id="edit-panel" data-panel="edit" open' in page


def test_a_draft_after_the_decision_is_refused(client_for, physician, review_items):
    client = client_for(physician)
    client.get(reverse("review:review"))
    assignment = active(physician)
    client.post(reverse("review:decide", args=[assignment.pk]), {"verdict": "accept"}, headers=HTMX)
    r = client.post(
        reverse("review:draft", args=[assignment.pk]), {"panel": "edit", "output": "x"}, headers=HTMX
    )
    assert r.status_code == 409 and "already decided" in r.text
    assert not ReviewDraft.objects.exists() and Decision.objects.get().verdict == "accept"


def test_undo_over_htmx_puts_the_item_back_in_front(client_for, physician, review_items):
    client = client_for(physician)
    client.get(reverse("review:review"))
    first = active(physician)
    r = client.post(reverse("review:decide", args=[first.pk]), {"verdict": "accept"}, headers=HTMX)
    assert "Undo last decision" in r.text
    r = client.post(reverse("review:undo"), headers=HTMX)
    assert r.status_code == 200 and f"Item #{first.item_id} " in r.text and "was undone" in r.text
    assert Decision.history.get().undone_at is not None


def test_undo_with_nothing_to_undo_says_so(client_for, physician, review_items):
    r = client_for(physician).post(reverse("review:undo"), headers=HTMX)
    assert r.status_code == 422 and "nothing to undo" in r.text


def test_save_and_next_claims_the_item_after_the_next_and_the_page_fires_no_request(
    client_for, physician, review_items
):
    client = client_for(physician)
    page = client.get(reverse("review:review"))
    assert Assignment.objects.filter(reviewer=physician, status="active").count() == 1
    assignment = re.search(r'data-assignment="(\d+)"', page.text).group(1)
    answer = client.post(reverse("review:decide", args=[assignment]), {"verdict": "accept"}, headers=HTMX)
    assert 'hx-trigger="load"' not in answer.text
    active = Assignment.objects.filter(reviewer=physician, status="active")
    assert active.count() == 2  # the next item, shown, and the one after it, claimed ahead
    assert active.filter(shown_at__isnull=False).count() == 1  # time on the other counts once shown


def test_the_page_shows_domain_technique_and_the_shortcuts(client_for, physician, review_items):
    page = client_for(physician).get(reverse("review:review")).text
    assert "domain: Infectious disease" in page and "technique: Self-Instruct" in page
    for key in ("accept", "edit", "reject", "undo", "guidelines"):
        assert f"</kbd> {key}" in page
    assert "review.js" in page and "<script>" not in page


def test_a_pair_shows_both_responses_in_the_recorded_order(client_for, physician, review_items):
    Candidate.objects.filter(pk=review_items[0].candidate_id).update(rejected_output="The other answer.")
    page = client_for(physician).get(reverse("review:review")).text
    assignment = active(physician)
    a, b = page.index('data-testid="response-A"'), page.index('data-testid="response-B"')
    other = page.index("The other answer.")
    # The judge's other response is B unless this reviewer's order was drawn swapped.
    assert (a < other < b) if assignment.pair_swapped else (other > b)


def test_a_pair_decision_over_the_page_stores_the_preference(client_for, physician, review_items):
    Candidate.objects.filter(pk=review_items[0].candidate_id).update(rejected_output="The other answer.")
    client = client_for(physician)
    client.get(reverse("review:review"))
    assignment = active(physician)
    r = client.post(reverse("review:decide", args=[assignment.pk]), {"verdict": "accept"}, headers=HTMX)
    assert r.status_code == 422 and "Choose the better response" in r.text
    client.post(
        reverse("review:decide", args=[assignment.pk]),
        {"verdict": "accept", "preference": "tie"},
        headers=HTMX,
    )
    assert ReviewItem.objects.get(pk=assignment.item_id).final_preference == "tie"


def test_guidelines_show_the_administrators_text(client_for, physician, db):
    ReviewerGuideline.objects.create(body="Reject anything <unsafe>.")
    r = client_for(physician).get(reverse("review:guidelines"))
    assert r.status_code == 200 and "Reject anything &lt;unsafe&gt;." in r.text


def test_a_data_lead_cannot_see_guidelines_drafts_or_undo(client_for, data_lead, db):
    client = client_for(data_lead)
    assert client.get(reverse("review:guidelines")).status_code == 403
    assert client.post(reverse("review:undo")).status_code == 403
    assert client.post(reverse("review:draft", args=[1])).status_code == 403


@pytest.fixture
def disputed(review_items, physician, physician2):
    item = review_items[0]
    ReviewItem.objects.filter(pk=item.pk).update(required_reviews=2)
    first, second = claim_next(physician).assignment, claim_next(physician2).assignment
    submit_decision(
        reviewer=physician,
        assignment_id=first.pk,
        verdict="edit",
        instruction="Fixed",
        output="Better",
        based_on=0,
    )
    submit_decision(reviewer=physician2, assignment_id=second.pk, verdict="reject", reasons=["unsafe"])
    return ReviewItem.objects.get(pk=item.pk)


def test_a_senior_sees_all_verdicts_and_settles_a_disagreement(client_for, senior, disputed):
    client = client_for(senior)
    assert f"#{disputed.pk}" in client.get(reverse("review:adjudication_list")).text
    page = client.get(reverse("review:adjudicate", args=[disputed.pk])).text
    assert (
        "physician</strong>: Edit" in page
        and "physician2</strong>: Reject" in page
        and "<ins>Better</ins>" in page
    )
    revision = disputed.revisions.get()
    r = client.post(
        reverse("review:adjudicate", args=[disputed.pk]), {"verdict": "accept", "revision": revision.pk}
    )
    assert r.status_code == 302
    item = ReviewItem.objects.get(pk=disputed.pk)
    assert (item.status, item.final_verdict, item.final_revision) == ("decided", "edit", revision)
    assert Adjudication.objects.get().adjudicator == senior
    assert item.decisions.count() == 2  # the individual verdicts stay


def test_an_adjudicated_reject_needs_a_comment(client_for, senior, disputed):
    r = client_for(senior).post(reverse("review:adjudicate", args=[disputed.pk]), {"verdict": "reject"})
    assert r.status_code == 422 and "Say why" in r.text
    assert not Adjudication.objects.exists()


def test_a_physician_cannot_adjudicate(client_for, physician, disputed):
    client = client_for(physician)
    assert client.get(reverse("review:adjudication_list")).status_code == 403
    assert (
        client.post(reverse("review:adjudicate", args=[disputed.pk]), {"verdict": "accept"}).status_code
        == 403
    )
    assert not Adjudication.objects.exists()


def test_a_batch_page_shows_the_wilson_interval_and_releases(client_for, physician, data_lead, review_items):
    for _ in review_items:
        item = claim_next(physician)
        submit_decision(reviewer=physician, assignment_id=item.assignment.pk, verdict="accept")
    batch = Batch.objects.get()
    Batch.objects.filter(pk=batch.pk).update(acceptance_threshold=0.5)
    client = client_for(data_lead)
    page = client.get(reverse("review:batch_detail", args=[batch.pk])).text
    assert "95 % Wilson interval" in page and "Release the unreviewed remainder" in page
    # The release asks first (tests/review/test_batch_release.py): the confirmation names the count.
    confirm = client.get(reverse("review:batch_release", args=[batch.pk])).text
    count = re.search(r'name="confirm" value="(\d+)"', confirm).group(1)
    assert (
        client.post(reverse("review:batch_release", args=[batch.pk]), {"confirm": count}).status_code == 302
    )
    batch.refresh_from_db()
    assert batch.released_by == data_lead and batch.released_at is not None


def test_a_batch_below_the_threshold_is_not_released(client_for, physician, data_lead, review_items):
    for _ in review_items:
        item = claim_next(physician)
        submit_decision(
            reviewer=physician, assignment_id=item.assignment.pk, verdict="reject", reasons=["unsafe"]
        )
    batch = Batch.objects.get()
    r = client_for(data_lead).post(reverse("review:batch_release", args=[batch.pk]))
    assert r.status_code == 422 and "keep only the reviewed records" in r.text
    batch.refresh_from_db()
    assert batch.released_at is None


def test_a_physician_cannot_release_a_batch(client_for, physician, review_items):
    batch = Batch.objects.get()
    assert client_for(physician).post(reverse("review:batch_release", args=[batch.pk])).status_code == 403


def test_undo_without_htmx_redirects_with_the_notice(client_for, physician, review_items):
    client = client_for(physician)
    client.get(reverse("review:review"))
    first = active(physician)
    client.post(reverse("review:decide", args=[first.pk]), {"verdict": "accept"})
    r = client.post(reverse("review:undo"), follow=True)
    assert "was undone" in r.text and f"Item #{first.item_id} " in r.text
