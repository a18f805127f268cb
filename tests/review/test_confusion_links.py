"""The dashboard's confusion matrix links each cell to its items in the record browser (the filter
reviewer_a/verdict_a/reviewer_b/verdict_b), from seed_demo, a `generate` run and physicians deciding,
undoing and revising on the review pages."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from review.models import Decision, ReviewItem
from review.selectors.records import records_url
from tests.review.journey import decide, double_review_policy, edit, generate, logged_in, seed_demo

# What each physician finally says on each of six items, in the order they review them. Two verdicts
# do not stand and must be counted nowhere: the first physician's reject on item 1 (undone, then
# decided again) and the second physician's reject on item 0 (revised to accept from "My reviews").
SCRIPT = [
    ("accept", "accept"),
    ("accept", "reject"),
    ("reject", "accept"),
    ("edit", "accept"),
    ("reject", "reject"),
    ("accept", "edit"),
]
CELL = re.compile(r'<td class="cell shade-\d( disagree)?">(.*?)</td>', re.S)
LINK = re.compile(
    r'^<a href="([^"]+)" aria-label="([^"]+)" title="[^"]+" data-testid="confusion-link">(\d+)</a>$'
)


def _say(client, verdict: str):
    if verdict == "edit":
        return edit(client, output="A corrected answer, as the physician would write it.")
    return decide(client, verdict)


@pytest.fixture
def reviewed(db):
    """seed_demo, every item of a cardiology run sent to two physicians, six of them decided by both."""
    users = seed_demo()
    double_review_policy(users["admin"])
    generate(count=8, domain="cardiology")
    first, second = logged_in(users["physician"]), logged_in(users["physician2"])
    said: dict[int, dict[str, str]] = {}
    for n, (verdict, _) in enumerate(SCRIPT):
        if n == 1:  # a reject, undone: the item comes back, and is decided again
            undone = decide(first, "reject")
            assert first.post(reverse("review:undo")).status_code == 302
        item = _say(first, verdict)
        assert n != 1 or item == undone
        said[item.candidate_id] = {"physician": verdict}
    first_items = list(said)
    for n, (_, verdict) in enumerate(SCRIPT):
        item = _say(second, "reject" if n == 0 else verdict)
        said[item.candidate_id]["physician2"] = verdict
        if n == 0:  # revised from "My reviews": the reject is superseded by an accept
            decision = Decision.objects.get(item=item, reviewer=users["physician2"])
            r = second.post(reverse("review:my_decision", args=[decision.pk]), {"verdict": "accept"})
            assert r.status_code == 302, r.text[:3000]
    assert list(said) == first_items and all(len(v) == 2 for v in said.values())
    assert Decision.history.filter(undone_at__isnull=False).count() == 1
    assert Decision.history.filter(superseded_at__isnull=False).count() == 1
    # Items left pending (no decision) must not turn up in any cell.
    assert ReviewItem.objects.filter(decisions__isnull=True).exists()
    return {"users": users, "said": said, "lead": logged_in(users["datalead"])}


def _confusion_cells(text: str) -> list[tuple[str, int]]:
    """(the cell's inner HTML, its count) for each of the nine cells, row by row."""
    table = re.search(r'<table class="confusion" data-testid="confusion">(.*?)</table>', text, re.S).group(1)
    cells = [inner for _, inner in CELL.findall(table)]
    assert len(cells) == 9
    return [(inner, int(re.sub(r"<[^>]+>", "", inner))) for inner in cells]


def _shown(client, url: str) -> list[int]:
    r = client.get(url)
    assert r.status_code == 200, r.text[:3000]
    return [int(n) for n in re.findall(r'data-record="(\d+)"', r.text)]


def test_each_cell_links_to_exactly_the_items_it_counts(reviewed):
    lead, said = reviewed["lead"], reviewed["said"]
    text = lead.get(reverse("review:dashboard")).text
    pair = lead.get(reverse("review:dashboard")).context["pair"]
    a, b = pair["reviewer_a"], pair["reviewer_b"]
    assert {a, b} == {"physician", "physician2"}
    verdicts = ["accept", "edit", "reject"]
    followed = 0
    for n, (inner, count) in enumerate(_confusion_cells(text)):
        verdict_a, verdict_b = verdicts[n // 3], verdicts[n % 3]
        expected = {c for c, v in said.items() if (v[a], v[b]) == (verdict_a, verdict_b)}
        assert count == len(expected), (verdict_a, verdict_b)
        if not count:
            assert "<a " not in inner  # nothing to show: no link
            continue
        href, label, _ = LINK.match(inner).groups()
        href = html.unescape(href)
        items = "item" if count == 1 else "items"
        assert html.unescape(label) == f"{count} {items}: {a} {verdict_a}, {b} {verdict_b}"
        assert href == records_url(reviewer_a=a, verdict_a=verdict_a, reviewer_b=b, verdict_b=verdict_b)
        shown = _shown(lead, href)
        assert len(shown) == count and set(shown) == expected, (verdict_a, verdict_b)
        followed += 1
        page = lead.get(href).text
        hint = re.search(r'data-testid="pair-hint">([^<]+)<', page).group(1)
        assert f"{a} gave {verdict_a} and {b} gave {verdict_b}" in html.unescape(hint)
    # Six items both reviewed, one in each of six cells: every one of them is behind exactly one link.
    assert followed == len(set(SCRIPT)) == 6


def test_the_filter_is_symmetric_and_takes_one_side_alone(reviewed):
    lead, said = reviewed["lead"], reviewed["said"]
    accepted_by_first = {c for c, v in said.items() if v["physician"] == "accept"}
    assert set(_shown(lead, records_url(reviewer_a="physician", verdict_a="accept"))) == accepted_by_first
    swapped = records_url(
        reviewer_a="physician2", verdict_a="reject", reviewer_b="physician", verdict_b="accept"
    )
    assert set(_shown(lead, swapped)) == {
        c for c, v in said.items() if (v["physician"], v["physician2"]) == ("accept", "reject")
    }
    # Both reviewed, whatever they said.
    assert set(_shown(lead, records_url(reviewer_a="physician", reviewer_b="physician2"))) == set(said)


def test_the_htmx_pair_panel_carries_the_links(reviewed):
    lead, users = reviewed["lead"], reviewed["users"]
    a, b = sorted([users["physician"].pk, users["physician2"].pk])
    r = lead.get(
        reverse("review:dashboard"), {"part": "pair", "pair": f"{a}-{b}"}, headers={"HX-Request": "true"}
    )
    assert r.status_code == 200
    assert r.text.count('data-testid="confusion-link"') == 6


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("reviewer_a=nobody", "Reviewer A: there is no user called &#x27;nobody&#x27;."),
        ("reviewer_a=physician&reviewer_b=ghost", "Reviewer B: there is no user called &#x27;ghost&#x27;."),
        (
            "reviewer_a=physician&verdict_a=maybe",
            "Reviewer A&#x27;s verdict: &#x27;maybe&#x27; is not a verdict (choose one of accept, edit, reject).",
        ),
        ("verdict_a=accept", "Reviewer A&#x27;s verdict: give reviewer A too (whose verdict it is)."),
        (
            "reviewer_a=physician&verdict_b=reject",
            "Reviewer B&#x27;s verdict: give reviewer B too (whose verdict it is).",
        ),
        ("reviewer_b=physician", "Reviewer B: give reviewer A too"),
        (
            "reviewer_a=physician&reviewer_b=physician",
            "Reviewer B: &#x27;physician&#x27; is reviewer A too; choose two different reviewers.",
        ),
    ],
)
def test_a_bad_pair_filter_is_named_on_the_page(
    data_lead, physician, client_for, demo_config, query, message
):
    r = client_for(data_lead).get(f"/records/?{query}")
    assert r.status_code == 400
    assert 'data-testid="filter-errors"' in r.text
    assert message in r.text
    assert "No records shown until the filters are fixed." in r.text
    assert 'data-testid="pair-hint"' not in r.text


def test_roles(reviewed, client_for):
    url = records_url(reviewer_a="physician", verdict_a="accept", reviewer_b="physician2", verdict_b="reject")
    users = reviewed["users"]
    assert client_for(users["admin"]).get(url).status_code == 200
    assert client_for(users["datalead"]).get(url).status_code == 200
    for name in ("physician", "senior"):
        assert client_for(users[name]).get(url).status_code == 403
