"""The top bar: each role sees the links it may use, and the page it is on is marked."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.review.journey import logged_in, seed_demo

NAV = re.compile(r'<nav aria-label="Main">(.*?)</nav>', re.S)


def links(page: str) -> list[tuple[str, bool]]:
    """The top bar's links as (label, marked current)."""
    nav = NAV.search(page).group(1)
    return [
        (label, bool(current))
        for current, label in re.findall(r'<a href="[^"]+"( aria-current="page")?>([^<]+)</a>', nav)
    ]


@pytest.fixture
def users(db):
    return seed_demo()


@pytest.mark.parametrize(
    ("username", "page", "expected"),
    [
        ("physician", "review:review", [("Review", True), ("My reviews", False)]),
        (
            "senior",
            "review:adjudication_list",
            [("Review", False), ("My reviews", False), ("Adjudication", True), ("Discussions", False)],
        ),
        (
            "datalead",
            "review:dashboard",
            [("Dashboard", True), ("Reviewers", False), ("Records", False), ("Batches", False)],
        ),
        (
            "datalead",
            "review:records",
            [("Dashboard", False), ("Reviewers", False), ("Records", True), ("Batches", False)],
        ),
        (
            "admin",
            "synth:run_list",
            [
                ("Runs", True),
                ("Query sets", False),
                ("Documents", False),
                ("Review", False),
                ("My reviews", False),
                ("Adjudication", False),
                ("Discussions", False),
                ("Dashboard", False),
                ("Reviewers", False),
                ("Records", False),
                ("Batches", False),
                ("Admin", False),
            ],
        ),
    ],
)
def test_each_role_sees_its_own_links_with_the_current_page_marked(users, username, page, expected):
    client = logged_in(users[username])
    response = client.get(reverse(page))
    assert response.status_code == 200
    assert links(response.text) == expected


def test_a_page_below_a_link_marks_that_link(users):
    client = logged_in(users["admin"])
    page = client.get(reverse("synth:run_new")).text
    assert ("Runs", True) in links(page)
    documents = links(client.get(reverse("synth:documents")).text)
    assert ("Documents", True) in documents and ("Runs", False) in documents
    mine = links(logged_in(users["physician"]).get(reverse("review:my_reviews")).text)
    assert mine == [("Review", False), ("My reviews", True)]
