import pytest
from django.urls import reverse

from review.models import Assignment, Decision

HTMX = {"HX-Request": "true"}


@pytest.fixture
def reviewer_client(client_for, physician):
    return client_for(physician)


def current_assignment(user):
    return Assignment.objects.get(reviewer=user, status="active")


def test_the_review_page_shows_one_item_with_its_source(reviewer_client, physician, review_items):
    r = reviewer_client.get(reverse("review:review"))
    assert r.status_code == 200
    item = review_items[0]
    assert item.candidate.instruction in r.text
    assert "teacher: offline" in r.text
    assert current_assignment(physician).item == item


def test_a_decision_over_htmx_returns_the_next_item_as_a_fragment(reviewer_client, physician, review_items):
    reviewer_client.get(reverse("review:review"))
    assignment = current_assignment(physician)
    r = reviewer_client.post(
        reverse("review:decide", args=[assignment.pk]), {"verdict": "accept"}, headers=HTMX
    )
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<section id="item"')
    assert review_items[1].candidate.instruction in r.text
    assert Decision.objects.get().verdict == "accept"


def test_a_decision_without_htmx_redirects_back_to_the_queue(reviewer_client, physician, review_items):
    reviewer_client.get(reverse("review:review"))
    r = reviewer_client.post(
        reverse("review:decide", args=[current_assignment(physician).pk]), {"verdict": "accept"}
    )
    assert r.status_code == 302 and r.url == reverse("review:review")


def test_an_empty_edit_gets_a_message_keeps_the_text_and_stores_nothing(
    reviewer_client, physician, review_items
):
    reviewer_client.get(reverse("review:review"))
    assignment = current_assignment(physician)
    r = reviewer_client.post(
        reverse("review:decide", args=[assignment.pk]),
        {"verdict": "edit", "instruction": "My <b>kept</b> instruction", "input": "", "output": "  "},
        headers=HTMX,
    )
    assert r.status_code == 422
    assert "response cannot be empty" in r.text
    assert "My &lt;b&gt;kept&lt;/b&gt; instruction" in r.text  # kept for the reviewer, and escaped
    assert not Decision.objects.exists()


def test_a_reject_without_a_reason_gets_a_message(reviewer_client, physician, review_items):
    reviewer_client.get(reverse("review:review"))
    r = reviewer_client.post(
        reverse("review:decide", args=[current_assignment(physician).pk]), {"verdict": "reject"}, headers=HTMX
    )
    assert r.status_code == 422 and "at least one reason" in r.text
    assert not Decision.objects.exists()


def test_deciding_on_someone_elses_item_is_refused(client_for, physician, physician2, review_items):
    client_for(physician).get(reverse("review:review"))
    theirs = current_assignment(physician)
    r = client_for(physician2).post(
        reverse("review:decide", args=[theirs.pk]), {"verdict": "accept"}, headers=HTMX
    )
    assert r.status_code == 404  # as if it did not exist: ids reveal nothing
    assert not Decision.objects.exists()


def test_a_double_submit_stores_one_decision(reviewer_client, physician, review_items):
    reviewer_client.get(reverse("review:review"))
    url = reverse("review:decide", args=[current_assignment(physician).pk])
    reviewer_client.post(url, {"verdict": "reject", "reasons": ["unsafe"]}, headers=HTMX)
    r = reviewer_client.post(url, {"verdict": "reject", "reasons": ["unsafe"]}, headers=HTMX)
    assert r.status_code == 200
    assert Decision.objects.count() == 1


def test_the_decide_endpoint_rejects_get(reviewer_client, physician, review_items):
    reviewer_client.get(reverse("review:review"))
    assert (
        reviewer_client.get(reverse("review:decide", args=[current_assignment(physician).pk])).status_code
        == 405
    )


def test_a_data_lead_cannot_review_or_edit_records(client_for, physician, data_lead, review_items):
    client_for(physician).get(reverse("review:review"))
    assignment = current_assignment(physician)
    client = client_for(data_lead)
    assert client.get(reverse("review:review")).status_code == 403
    r = client.post(
        reverse("review:decide", args=[assignment.pk]),
        {"verdict": "edit", "instruction": "x", "output": "changed"},
    )
    assert r.status_code == 403
    assert not Decision.objects.exists()


def test_anonymous_reviewers_are_sent_to_login(client, review_items):
    r = client.get(reverse("review:review"))
    assert r.status_code == 302 and r.url.startswith(reverse("login"))


def test_the_empty_queue_says_so(reviewer_client, db):
    r = reviewer_client.get(reverse("review:review"))
    assert "Nothing left to review" in r.text


def test_htmx_requests_carry_the_csrf_token_in_a_header(reviewer_client, review_items):
    r = reviewer_client.get(reverse("review:review"))
    assert 'hx-headers=\'{"x-csrftoken": "' in r.text


def test_decisions_without_a_csrf_token_are_refused(client, physician, review_items):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(physician)
    strict.get(reverse("review:review"))
    r = strict.post(
        reverse("review:decide", args=[current_assignment(physician).pk]), {"verdict": "accept"}, headers=HTMX
    )
    assert r.status_code == 403
    assert not Decision.objects.exists()


@pytest.mark.parametrize(
    ("fixture", "destination"),
    [("administrator", "synth:run_list"), ("physician", "review:review"), ("data_lead", "review:dashboard")],
)
def test_home_sends_each_role_to_its_work(client_for, request, fixture, destination):
    r = client_for(request.getfixturevalue(fixture)).get("/")
    assert r.status_code == 302 and r.url == reverse(destination)
