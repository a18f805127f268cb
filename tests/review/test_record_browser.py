"""The record browser (/records/): every reviewed or released record, filtered, paged by keyset, and each
record's whole history, from seed_demo, `generate` runs and physicians deciding on the review pages."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from review.models import Batch, Decision, Export, ReviewItem
from review.selectors.records import records_url
from synth.models import Candidate, QualityResult
from tests.review.journey import (
    decide,
    double_review_policy,
    edit,
    export_from_dashboard,
    generate,
    logged_in,
    seed_demo,
)

EDITED_OUTPUT = "Corrected by the first physician: a clearer answer."


def _run_items(run_id: int) -> list[ReviewItem]:
    return list(
        ReviewItem.objects.filter(candidate__run_id=run_id).select_related("candidate").order_by("pk")
    )


@pytest.fixture
def records(db):
    """Two runs. Run 1 (infectious disease): half sampled, one review each, all accepted, the rest released
    by the data lead. Run 2 (cardiology): every item reviewed twice: A accepted by both, B edited by one
    and accepted by the other (the senior chooses the edit), C rejected by both; the rest pending."""
    users = seed_demo()
    first, second = logged_in(users["physician"]), logged_in(users["physician2"])
    lead = logged_in(users["datalead"])

    call_command(
        "generate", "--technique", "self_instruct", "--teacher", "offline", "--count", "6",
        "--sample", "0.5", "--domain", "infectious-disease", stdout=io.StringIO(),
    )  # fmt: skip
    batch1 = Batch.objects.get()
    for _ in _run_items(batch1.run_id):
        decide(first, "accept")
    # The data lead would accept a looser threshold for this batch (an administrator's setting).
    Batch.objects.filter(pk=batch1.pk).update(acceptance_threshold=0.0)
    page = lead.get(reverse("review:batch_release", args=[batch1.pk]))
    confirm = re.search(r'name="confirm" value="(\d+)"', page.text).group(1)
    assert (
        lead.post(reverse("review:batch_release", args=[batch1.pk]), {"confirm": confirm}).status_code == 302
    )
    released = list(
        Candidate.objects.filter(run_id=batch1.run_id, status="passed", held_back=False, review_item=None)
    )
    assert released, "the release should let out at least one unreviewed record"

    double_review_policy(users["admin"])
    generate(count=6, domain="cardiology")
    batch2 = Batch.objects.exclude(pk=batch1.pk).get()
    a = decide(first, "accept")
    b = edit(first, output=EDITED_OUTPUT)
    c = decide(first, "reject", reasons=["factually_wrong", "unsafe"])
    assert decide(second, "accept") == a
    assert decide(second, "accept") == b
    assert decide(second, "reject", reasons=["low_quality"]) == c
    b.refresh_from_db()
    assert b.status == ReviewItem.Status.NEEDS_ADJUDICATION
    revision = b.revisions.get()
    r = logged_in(users["senior"]).post(
        reverse("review:adjudicate", args=[b.pk]),
        {"verdict": "accept", "revision": revision.pk, "comment": "The edit is right."},
    )
    assert r.status_code == 302, r.text[:2000]
    for item in (a, b, c):
        item.refresh_from_db()
    return {
        "users": users,
        "lead": lead,
        "batch1": batch1,
        "batch2": batch2,
        "released": released,
        "a": a,
        "b": b,
        "c": c,
        "pending": [i for i in _run_items(batch2.run_id) if i.status == ReviewItem.Status.PENDING],
    }


def shown(client, **filters) -> set[int]:
    r = client.get(records_url(**filters))
    assert r.status_code == 200, r.text[:3000]
    return {int(n) for n in re.findall(r'data-record="(\d+)"', r.text)}


def test_it_lists_every_reviewed_or_released_record_and_each_filter_narrows_it(records):
    lead, a, b, c = records["lead"], records["a"], records["b"], records["c"]
    sampled = set(ReviewItem.objects.values_list("candidate_id", flat=True))
    released = {x.pk for x in records["released"]}
    run1, run2 = records["batch1"].run_id, records["batch2"].run_id
    assert shown(lead) == sampled | released
    assert shown(lead, run=run2) == set(
        ReviewItem.objects.filter(candidate__run_id=run2).values_list("candidate_id", flat=True)
    )
    assert (
        shown(lead, batch=records["batch1"].pk)
        == set(Candidate.objects.filter(run_id=run1, review_item__isnull=False).values_list("pk", flat=True))
        | released
    )
    assert shown(lead, domain="cardiology") == shown(lead, run=run2)
    assert shown(lead, domain="neonatology") == set()
    assert shown(lead, technique="self_instruct") == sampled | released
    assert shown(lead, technique="distillation") == set()
    assert shown(lead, status="released") == released
    assert shown(lead, status="pending") == {i.candidate_id for i in records["pending"]}
    assert shown(lead, status="needs_adjudication") == set()
    assert shown(lead, verdict="reject") == {c.candidate_id}
    assert shown(lead, verdict="edit") == {b.candidate_id}
    assert shown(lead, reviewer="physician2") == {a.candidate_id, b.candidate_id, c.candidate_id}
    assert shown(lead, reviewer="senior") == set()  # adjudicators are not reviewers
    assert shown(lead, edited=True) == {b.candidate_id}
    assert b.candidate_id not in shown(lead, edited=False)
    assert shown(lead, disagreement=True) == {b.candidate_id}
    assert shown(lead, adjudicated=True) == {b.candidate_id}
    assert shown(lead, adjudicated=False) == (sampled | released) - {b.candidate_id}
    flagged = set(QualityResult.objects.filter(flagged=True).values_list("candidate_id", flat=True))
    assert shown(lead, flagged=True) == flagged & (sampled | released)
    assert shown(lead, flagged=False) == (sampled | released) - flagged
    # Filters combine.
    assert shown(lead, run=run2, verdict="accept") == {a.candidate_id}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("export=7", "Export: there is no export &#x27;7&#x27;."),
        ("run=abc", "Run: &#x27;abc&#x27; is not a run number."),
        ("run=99999", "Run: there is no run 99999."),
        ("batch=-1", "Batch: &#x27;-1&#x27; is not a batch number."),
        ("domain=dermatology", "Domain: there is no domain &#x27;dermatology&#x27;"),
        ("technique=magic", "Technique: &#x27;magic&#x27; is not a technique"),
        ("status=lost", "Status: &#x27;lost&#x27; is not a status"),
        ("verdict=maybe", "Final verdict: &#x27;maybe&#x27; is not a verdict"),
        ("reviewer=nobody", "Reviewer: there is no user called &#x27;nobody&#x27;."),
        ("edited=perhaps", "Edited: give yes or no, not &#x27;perhaps&#x27;."),
        ("after=1e9", "Page: &#x27;1e9&#x27; is not a record number"),
        ("run=99999999999999999999999", "is not a run number"),
    ],
)
def test_a_bad_filter_value_is_named_on_the_page(data_lead, client_for, demo_config, query, message):
    r = client_for(data_lead).get(f"/records/?{query}")
    assert r.status_code == 400
    assert 'data-testid="filter-errors"' in r.text
    assert message in r.text
    assert "No records shown until the filters are fixed." in r.text


def test_keyset_pages_go_through_every_record_once(records, settings):
    lead = records["lead"]
    everything = sorted(shown(lead), reverse=True)
    settings.RECORD_BROWSER_PAGE_SIZE = 2
    assert len(everything) > 4
    seen: list[int] = []
    url = records_url()
    pages = 0
    while url:
        r = lead.get(url)
        page = [int(n) for n in re.findall(r'data-record="(\d+)"', r.text)]
        assert 0 < len(page) <= 2
        seen += page
        pages += 1
        found = re.search(r'href="([^"]+)" data-testid="next-page"', r.text)
        url = found.group(1).replace("&amp;", "&") if found else ""
    assert seen == everything  # newest first, no duplicate, no gap
    assert pages == -(-len(everything) // 2)
    # A filter is kept from page to page.
    r = lead.get(records_url(run=records["batch2"].run_id))
    assert f"run={records['batch2'].run_id}" in re.search(
        r'href="([^"]+)" data-testid="next-page"', r.text
    ).group(1)


def test_records_url_names_only_the_browsers_filters():
    assert records_url() == "/records/"
    assert records_url(batch=3, edited=True, verdict=None) == "/records/?batch=3&edited=yes"
    with pytest.raises(TypeError):
        records_url(colour="red")


def test_a_record_shows_its_whole_history(records, django_capture_on_commit_callbacks):
    lead, b = records["lead"], records["b"]
    export = export_from_dashboard(lead, django_capture_on_commit_callbacks)
    assert export.status == "ready", export.error
    dpo = export_from_dashboard(lead, django_capture_on_commit_callbacks, kind="dpo")
    r = lead.get(reverse("review:record", args=[b.candidate_id]))
    assert r.status_code == 200
    text = r.text
    # The candidate as generated, and the edit as a diff against it.
    assert b.candidate.instruction[:40] in text
    assert "Version 1: edited by physician" in text
    # (How the diff groups words depends on the generated text, which the run's id seeds.)
    assert "Corrected" in "".join(re.findall(r"<ins>([^<]*)</ins>", text)) and "<del>" in text
    # Each decision: who, verdict, time spent.
    rows = re.findall(r'<tr data-testid="decision">(.*?)</tr>', text, re.S)
    assert len(rows) == 2
    assert "physician" in rows[0] and "Edit" in rows[0] and "(version 1)" in rows[0]
    assert "physician2" in rows[1] and "Accept" in rows[1]
    assert all(re.search(r"\d+ s</td>", row) for row in rows)
    # The adjudication, the outcome.
    assert "senior" in text and "The edit is right." in text and "with version 1" in text
    assert 'data-testid="final-verdict">Edit<' in text
    # The quality gate's results.
    for check in ("non_answer", "exact_duplicate", "near_duplicate", "phi", "novelty"):
        assert f'data-testid="quality-{check}"' in text
    # The SFT export holds it; the DPO one (pairs only) does not.
    exports = re.search(r'data-testid="record-exports">(.*?)</ul>', text, re.S).group(1)
    assert f"Export #{export.pk} " in exports
    assert f"Export #{dpo.pk} " not in exports

    c = records["c"]
    text = lead.get(reverse("review:record", args=[c.candidate_id])).text
    reasons = re.findall(r'data-testid="reason">([^<]+)<', text)
    assert reasons == ["Factually wrong", "Unsafe", "Low quality"]
    assert 'data-testid="final-verdict">Reject<' in text
    assert re.search(r"None of the \d+ finished exports? checked holds it.", text)

    released = records["released"][0]
    text = lead.get(reverse("review:record", args=[released.pk])).text
    assert "<strong>released</strong>" in text and "Never reviewed." in text


def test_an_undone_decision_stays_in_the_history(review_items, physician, data_lead, client_for):
    from review.queue import claim_next, submit_decision, undo_last_decision

    item = claim_next(physician)
    assignment = item.assignments.get(reviewer=physician)
    submit_decision(reviewer=physician, assignment_id=assignment.pk, verdict="accept")
    undo_last_decision(reviewer=physician)
    assert Decision.history.filter(item=item, undone_at__isnull=False).exists()
    text = client_for(data_lead).get(reverse("review:record", args=[item.candidate_id])).text
    assert 'data-testid="undone"' in text


def test_the_batch_page_links_to_its_records(records):
    lead, batch = records["lead"], records["batch2"]
    text = lead.get(reverse("review:batch_detail", args=[batch.pk])).text
    assert f'href="{records_url(batch=batch.pk)}"' in text
    assert f'href="{records_url(batch=batch.pk, verdict="reject")}"'.replace("&", "&amp;") in text


def test_an_export_row_links_to_the_records_it_may_hold(records, django_capture_on_commit_callbacks):
    lead = records["lead"]
    export_from_dashboard(lead, django_capture_on_commit_callbacks, domains=["cardiology"])
    text = lead.get(reverse("review:dashboard")).text
    row = re.search(r'<tr data-testid="export-row">(.*?)</tr>', text, re.S).group(1)
    export = Export.objects.get()
    link = re.search(r'href="([^"]+)" class="meta" data-testid="export-records"', row).group(1)
    assert link == records_url(export=export.pk)
    # The records its settings selected: the approved cardiology items, not the released ones.
    assert shown(lead, export=export.pk) == {records["a"].candidate_id, records["b"].candidate_id}
    assert "export-hint" in lead.get(link).text


def test_roles(records, client_for):
    physician, senior, administrator = (records["users"][name] for name in ("physician", "senior", "admin"))
    url = reverse("review:records")
    item_url = reverse("review:record", args=[records["a"].candidate_id])
    for user in (physician, senior):
        assert client_for(user).get(url).status_code == 403
        assert client_for(user).get(item_url).status_code == 403
    assert client_for(administrator).get(url).status_code == 200
    assert client_for(administrator).get(item_url).status_code == 200
    assert records["lead"].post(url).status_code == 405
    assert records["lead"].get(reverse("review:record", args=[10**9])).status_code == 404


def test_anonymous_users_go_to_the_login(client, db):
    r = client.get("/records/")
    assert r.status_code == 302 and "/accounts/login/" in r.url


def test_a_page_costs_a_fixed_number_of_queries(records, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    lead = records["lead"]
    # No filter; then the confusion-matrix cells' filter (two reviewers' verdicts on the same item),
    # which selects a, b and c: one record a page, then a page deeper, then all three on one page.
    pair = {"reviewer_a": "physician", "reviewer_b": "physician2"}
    for filters, size, deep in (({}, 2, 3), (pair, 1, 1)):
        everything = sorted(shown(lead, **filters), reverse=True)
        assert len(everything) > size + deep
        counts = []
        for page_size, after in ((size, None), (size, everything[deep]), (len(everything), None)):
            settings.RECORD_BROWSER_PAGE_SIZE = page_size
            with CaptureQueriesContext(connection) as queries:
                assert lead.get(records_url(**filters, after=after)).status_code == 200
            counts.append(len(queries))
        assert counts[0] == counts[1] == counts[2], (filters, counts)
