"""The top bar: the pages each role may open, and which of them the reader is on.

One list, read by a context processor, so that a new page is one line here and every role sees only
the links its permissions allow (the views check the same permissions)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from django.http import HttpRequest
from django.urls import reverse


@dataclass(frozen=True)
class NavLink:
    url_name: str
    label: str
    permission: str  # "" for staff only (the Django admin)


LINKS = (
    NavLink("synth:run_list", "Runs", "synth.launch_run"),
    NavLink("synth:query_sets", "Query sets", "synth.launch_run"),
    NavLink("synth:documents", "Documents", "synth.launch_run"),
    NavLink("review:review", "Review", "review.review_item"),
    NavLink("review:my_reviews", "My reviews", "review.review_item"),
    NavLink("review:adjudication_list", "Adjudication", "review.adjudicate_item"),
    NavLink("review:discussion_list", "Discussions", "review.adjudicate_item"),
    NavLink("review:dashboard", "Dashboard", "review.view_dashboard"),
    NavLink("review:reviewer_figures", "Reviewers", "review.view_dashboard"),
    NavLink("review:records", "Records", "review.view_dashboard"),
    NavLink("review:batch_list", "Batches", "review.release_batch"),
    NavLink("admin:index", "Admin", ""),
)


def navigation(request: HttpRequest) -> dict:
    """`nav_links`, worked out only when a template shows the top bar (htmx fragments do not: no
    permission lookup for them)."""
    return {"nav_links": partial(nav_links, request)}


def nav_links(request: HttpRequest) -> list[tuple[str, str, bool]]:
    """The reader's links as (href, label, current); the current one is the link whose address is the
    longest start of this page's (/runs/7/ is in Runs)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    allowed = [
        (reverse(link.url_name), link.label)
        for link in LINKS
        if (user.has_perm(link.permission) if link.permission else user.is_staff)
    ]
    matching = [href for href, _ in allowed if request.path.startswith(href)]
    current = max(matching, key=len, default=None)
    return [(href, label, href == current) for href, label in allowed]
