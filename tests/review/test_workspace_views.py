"""The reviewer's workspace pages: My reviews (list, filters, revise), skip and flag for discussion on the
review page, the senior physicians' discussion list, and the figures (own, and the data lead's)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from review.models import Assignment, Decision, Discussion, ReviewItem

HTMX = {"HX-Request": "true"}


@pytest.fixture
def reviewer_client(client_for, physician):
    return client_for(physician)


def held(client, user) -> Assignment:
    client.get(reverse("review:review"))
    return Assignment.objects.filter(reviewer=user, status="active").order_by("claimed_at", "pk").first()


def decided(client, user, verdict="accept", **extra) -> Decision:
    assignment = held(client, user)
    client.post(reverse("review:decide", args=[assignment.pk]), {"verdict": verdict, **extra}, headers=HTMX)
    return Decision.objects.get(assignment=assignment)


def test_my_reviews_lists_my_decisions_newest_first(reviewer_client, physician, review_items):
    first = decided(reviewer_client, physician)
    second = decided(reviewer_client, physician, "reject", reasons=["unsafe"])
    r = reviewer_client.get(reverse("review:my_reviews"))
    assert r.status_code == 200
    assert r.text.index(f"#{second.item_id}<") < r.text.index(f"#{first.item_id}<")


def test_my_reviews_filters_by_verdict_and_names_a_bad_filter(reviewer_client, physician, review_items):
    accepted = decided(reviewer_client, physician)
    rejected = decided(reviewer_client, physician, "reject", reasons=["unsafe"])
    r = reviewer_client.get(reverse("review:my_reviews"), {"verdict": "reject"})
    assert f"#{rejected.item_id}<" in r.text and f"#{accepted.item_id}<" not in r.text
    r = reviewer_client.get(reverse("review:my_reviews"), {"verdict": "reject", "date_from": "yesterday"})
    assert r.status_code == 200
    assert "not understood" in r.text and "Decided from" in r.text
    assert f"#{rejected.item_id}<" in r.text and f"#{accepted.item_id}<" not in r.text


def test_nobody_else_sees_my_decision(client_for, physician, physician2, review_items):
    decision = decided(client_for(physician), physician)
    other = client_for(physician2)
    assert other.get(reverse("review:my_decision", args=[decision.pk])).status_code == 404
    r = other.post(reverse("review:my_decision", args=[decision.pk]), {"verdict": "reject"})
    assert r.status_code == 404


def test_revising_from_the_page_stores_a_new_decision_once(reviewer_client, physician, review_items):
    old = decided(reviewer_client, physician)
    url = reverse("review:my_decision", args=[old.pk])
    page = reviewer_client.get(url)
    assert page.status_code == 200 and old.item.candidate.instruction[:30] in page.text
    form = {"verdict": "reject", "reasons": ["factually_wrong"], "comment": "Wrong dose."}
    r = reviewer_client.post(url, form)
    new = Decision.objects.get(item=old.item_id)
    assert r.status_code == 302 and r.url == reverse("review:my_decision", args=[new.pk])
    assert reviewer_client.post(url, form).status_code == 302  # a retried POST
    assert Decision.history.filter(item=old.item_id).count() == 2
    assert ReviewItem.objects.get(pk=old.item_id).final_verdict == "reject"


def test_a_bad_revision_gets_a_message_and_changes_nothing(reviewer_client, physician, review_items):
    old = decided(reviewer_client, physician)
    url = reverse("review:my_decision", args=[old.pk])
    for form, message in [
        ({"verdict": "reject"}, "at least one reason"),
        ({"verdict": "nonsense"}, "Choose accept"),
        ({"verdict": "reject", "reasons": ["other"]}, "say why"),
        ({"verdict": "edit", "instruction": "x", "output": ""}, "cannot be empty"),
        ({}, "Choose accept"),
    ]:
        r = reviewer_client.post(url, form)
        assert r.status_code == 422 and message in r.text, form
    assert Decision.history.count() == 1


def test_skip_over_htmx_shows_the_next_item(reviewer_client, physician, review_items):
    assignment = held(reviewer_client, physician)
    r = reviewer_client.post(
        reverse("review:skip", args=[assignment.pk]), {"skip_reason": "not_my_specialty"}, headers=HTMX
    )
    assert r.status_code == 200 and "You skipped item" in r.text
    assert Assignment.objects.get(pk=assignment.pk).status == "skipped"
    r = reviewer_client.post(reverse("review:skip", args=[assignment.pk]), {"skip_reason": "x"}, headers=HTMX)
    assert r.status_code == 422  # decided already (skipped): said, nothing changed


def test_a_skip_without_a_reason_is_refused(reviewer_client, physician, review_items):
    assignment = held(reviewer_client, physician)
    r = reviewer_client.post(reverse("review:skip", args=[assignment.pk]), {}, headers=HTMX)
    assert r.status_code == 422 and "why you skip" in r.text
    assert Assignment.objects.get(pk=assignment.pk).status == "active"


def test_flag_answer_and_decide(client_for, physician, senior, data_lead, review_items):
    reviewer = client_for(physician)
    assignment = held(reviewer, physician)
    r = reviewer.post(reverse("review:discuss", args=[assignment.pk]), {"question": "  "}, headers=HTMX)
    assert r.status_code == 422 and "Write your question" in r.text
    r = reviewer.post(
        reverse("review:discuss", args=[assignment.pk]), {"question": "Adult dose?"}, headers=HTMX
    )
    assert r.status_code == 200 and "went to the senior physicians" in r.text
    discussion = Discussion.objects.get()

    assert client_for(physician).get(reverse("review:discussion_list")).status_code == 403
    assert client_for(data_lead).get(reverse("review:discussion_list")).status_code == 403
    seniors = client_for(senior)
    page = seniors.get(reverse("review:discussion_list"))
    assert "Adult dose?" in page.text
    answer_url = reverse("review:answer_discussion", args=[discussion.pk])
    assert seniors.post(answer_url, {"answer": ""}).status_code == 422
    assert seniors.post(answer_url, {"answer": "500 mg."}).status_code == 302
    assert seniors.post(answer_url, {"answer": "500 mg."}).status_code == 302  # retried

    reviewer = client_for(physician)
    mine = reviewer.get(reverse("review:my_discussions"))
    assert "500 mg." in mine.text and "Decide it now" in mine.text
    r = reviewer.post(reverse("review:resume_discussed", args=[discussion.pk]))
    assert r.status_code == 302 and r.url == reverse("review:review")
    page = reviewer.get(reverse("review:review"))
    assert f'data-assignment="{assignment.pk}"' in page.text


def test_a_comment_goes_with_an_accept(reviewer_client, physician, review_items):
    decision = decided(reviewer_client, physician, note="Fine, a little terse.")
    assert (decision.verdict, decision.comment) == ("accept", "Fine, a little terse.")


def test_figures_for_the_reviewer_and_the_data_lead(client_for, physician, data_lead, review_items):
    decided(client_for(physician), physician)
    r = client_for(physician).get(reverse("review:my_figures"))
    assert r.status_code == 200 and 'data-testid="items">1<' in r.text
    r = client_for(data_lead).get(reverse("review:reviewer_figures"))
    assert r.status_code == 200 and 'data-reviewer="physician"' in r.text
    assert client_for(physician).get(reverse("review:reviewer_figures")).status_code == 403
    assert client_for(data_lead).get(reverse("review:my_figures")).status_code == 403


def test_the_pages_refuse_the_wrong_method(reviewer_client, review_items):
    assert reviewer_client.post(reverse("review:my_reviews")).status_code == 405
    assert reviewer_client.get(reverse("review:skip", args=[1])).status_code == 405
    assert reviewer_client.get(reverse("review:discuss", args=[1])).status_code == 405
    assert reviewer_client.get(reverse("review:resume_discussed", args=[1])).status_code == 405


def test_my_reviews_filters_by_flagged_and_by_domain(reviewer_client, physician, review_items):
    from review.queue import answer_discussion, resume_discussed
    from tests.conftest import make_user

    plain = decided(reviewer_client, physician)
    assignment = held(reviewer_client, physician)
    reviewer_client.post(reverse("review:discuss", args=[assignment.pk]), {"question": "Dose?"}, headers=HTMX)
    discussion = Discussion.objects.get()
    answer_discussion(
        senior=make_user("senior-2", "Senior physician"), discussion_id=discussion.pk, answer="Ok."
    )
    resume_discussed(reviewer=physician, discussion_id=discussion.pk)
    reviewer_client.post(reverse("review:decide", args=[assignment.pk]), {"verdict": "accept"}, headers=HTMX)
    r = reviewer_client.get(reverse("review:my_reviews"), {"flagged": "discussed"})
    assert f"#{assignment.item_id}<" in r.text and f"#{plain.item_id}<" not in r.text
    r = reviewer_client.get(reverse("review:my_reviews"), {"domain": "no-such-domain"})
    assert "not understood" in r.text and f"#{plain.item_id}<" in r.text
