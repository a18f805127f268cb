"""Object scope: walking sequential ids reaches only what the user may see; everything else is a 404."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Max, Min
from django.urls import reverse

from review.models import Adjudication, Assignment, Decision, ReviewDraft, ReviewItem
from review.queue import claim_next, submit_decision

HTMX = {"HX-Request": "true"}


def test_a_physician_walking_assignment_ids_reaches_only_their_own(
    client_for, physician, physician2, review_items
):
    client_for(physician).get(reverse("review:review"))  # claims an item and the next one
    walker = client_for(physician2)
    walker.get(reverse("review:review"))
    mine = set(Assignment.objects.filter(reviewer=physician2).values_list("pk", flat=True))
    theirs = set(Assignment.objects.filter(reviewer=physician).values_list("pk", flat=True))
    assert mine and theirs
    # Every assignment there is, and a few ids on either side (on PostgreSQL ids keep counting up from
    # earlier tests, so walking from 1 would mostly ask for ids that never existed here).
    bottom, top = Assignment.objects.aggregate(bottom=Min("pk"), top=Max("pk")).values()
    for pk in set(range(max(1, bottom - 3), top + 3)) - mine:
        decide = walker.post(reverse("review:decide", args=[pk]), {"verdict": "accept"}, headers=HTMX)
        draft = walker.post(reverse("review:draft", args=[pk]), {"output": "mine now"}, headers=HTMX)
        assert (decide.status_code, draft.status_code) == (404, 404), pk
        assert walker.get(reverse("review:decide", args=[pk])).status_code == 405  # POST only, for all
    assert not Decision.history.exists() and not ReviewDraft.objects.exists()
    own = min(mine)
    assert (
        walker.post(reverse("review:decide", args=[own]), {"verdict": "accept"}, headers=HTMX).status_code
        == 200
    )
    assert Decision.objects.get().reviewer == physician2


def disagree(item: ReviewItem, first, second) -> None:
    ReviewItem.objects.filter(pk=item.pk).update(required_reviews=2)
    a, b = claim_next(first).assignment, claim_next(second).assignment
    assert a.item_id == b.item_id == item.pk
    submit_decision(reviewer=first, assignment_id=a.pk, verdict="accept")
    submit_decision(reviewer=second, assignment_id=b.pk, verdict="reject", reasons=["unsafe"])


def test_an_adjudicator_walking_item_ids_opens_only_disputed_or_adjudicated_items(
    client_for, senior, physician, physician2, review_items
):
    disputed = review_items[0]
    disagree(disputed, physician, physician2)
    in_review = claim_next(physician).assignment.item  # one verdict in, not yet visible to anyone
    client = client_for(senior)
    bottom, top = ReviewItem.objects.aggregate(bottom=Min("pk"), top=Max("pk")).values()
    for pk in range(max(1, bottom - 3), top + 3):
        page = client.get(reverse("review:adjudicate", args=[pk]))
        settle = client.post(reverse("review:adjudicate", args=[pk]), {"verdict": "nonsense"})
        if pk == disputed.pk:
            assert (page.status_code, settle.status_code) == (200, 422)
        else:
            assert (page.status_code, settle.status_code) == (404, 404), pk
    assert not Adjudication.objects.exists()
    assert in_review.status == ReviewItem.Status.PENDING

    r = client.post(reverse("review:adjudicate", args=[disputed.pk]), {"verdict": "accept"})
    assert r.status_code == 302
    # Settled by adjudication: still open to read (its history), no longer to change.
    assert client.get(reverse("review:adjudicate", args=[disputed.pk])).status_code == 200
    again = client.post(reverse("review:adjudicate", args=[disputed.pk]), {"verdict": "reject"})
    assert again.status_code == 422 and "not waiting for adjudication" in again.text
    assert Adjudication.objects.count() == 1


def test_a_senior_cannot_settle_a_dispute_they_were_part_of(client_for, senior, physician, review_items):
    disputed = review_items[0]
    disagree(disputed, senior, physician)
    client = client_for(senior)
    listing = client.get(reverse("review:adjudication_list")).text
    assert "you reviewed it: another senior physician settles it" in listing
    r = client.post(reverse("review:adjudicate", args=[disputed.pk]), {"verdict": "accept"})
    assert r.status_code == 422 and "You reviewed this item yourself" in r.text
    assert not Adjudication.objects.exists()


def test_admin_list_filters_accept_only_their_allow_listed_fields(client_for, administrator, review_items):
    client = client_for(administrator)
    client.raise_request_exception = False  # answered as a real server would, not raised into the test
    probes = {
        "/admin/synth/candidate/": "run__created_by__password__startswith",
        "/admin/auditlog/logentry/": "actor__password__startswith",
    }
    for url, lookup in probes.items():
        r = client.get(url, {lookup: "pbkdf2"})
        assert r.status_code in (400, 302), (url, r.status_code)  # refused, or reset with ?e=1
        if r.status_code == 302:
            assert r["Location"].endswith("?e=1")
    # User management is the superuser's; password lookups stay refused there too.
    root = get_user_model().objects.create_superuser("root", "root@example.org", "a-long-test-password-1")
    client.force_login(root)
    assert client.get("/admin/auth/user/", {"password__startswith": "pbkdf2"}).status_code == 400
    r = client.get("/admin/synth/candidate/", {"o": "99"})  # sorting by a column that is not shown
    assert r.status_code in (200, 302) and "pbkdf2" not in r.text
