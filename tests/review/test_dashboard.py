"""The data lead's dashboard: charts of the funnel and of agreement, readable at a glance."""

import re

from django.urls import reverse

from review.models import Export


def test_the_dashboard_shows_the_funnel(double_reviewed, review_items, data_lead, client_for):
    r = client_for(data_lead).get(reverse("review:dashboard"))
    counts = r.context["counts"]
    assert counts["sampled"] == len(review_items) == counts["passed"]  # sampled in full
    assert (counts["reviewed"], counts["approved"], counts["rejected"]) == (6, 4, 2)
    assert counts["generated"] == counts["filtered"] + counts["passed"]
    assert 'data-testid="funnel-chart"' in r.text and 'id="chart-data-funnel-chart"' in r.text
    funnel = r.context["charts"]["funnel"]
    assert [d["label"] for d in funnel["data"]] == [
        "Generated", "Passed the gate", "Sampled for review", "Reviewed", "Approved"
    ]  # fmt: skip
    values = [d["value"] for d in funnel["data"]]
    assert values == sorted(values, reverse=True) and values[3:] == [6, 4]
    # The sampled records are the batches' samples: its bar links to the batches.
    assert funnel["data"][2]["href"] == reverse("review:records")  # the sampled records, in the browser
    assert funnel["data"][3]["href"] == reverse("review:records") + "?status=decided"


def test_the_dashboard_charts_agreement(double_reviewed, data_lead, client_for):
    r = client_for(data_lead).get(reverse("review:dashboard"))
    text = r.text
    assert "Overall alpha <strong>0.312" in text or "Overall alpha <strong>0.313" in text
    for chart in ("agreement-chart", "timeline-chart", "domain-agreement-chart", "technique-chart"):
        assert f'data-testid="{chart}"' in text
    for table in ("reviewer-table", "confusion", "verdicts-chart"):
        assert f'data-testid="{table}"' in text
    assert text.count('data-testid="reviewer-row"') == 2
    assert "Cohen's kappa <strong>0.250" in text
    assert "50% · 17% · 33%" in text  # physician: accept, edit, reject rates
    # Six double-reviewed items are too few for an alpha per domain: the chart says so instead.
    assert "6 double-reviewed items; agreement needs at least 10 per domain." in text
    assert "6 double-reviewed items; agreement needs at least 10 per technique." in text


def test_the_dashboard_needs_no_inline_style_or_script(double_reviewed, data_lead, client_for):
    text = client_for(data_lead).get(reverse("review:dashboard")).text
    assert " style=" not in text
    # Only chart data (json_script) is inline, and it is not executable.
    assert not re.search(r"<script(?![^>]*\b(src=|type=\"application/json\"))", text)


def test_a_reviewer_pair_is_chosen_with_htmx(double_reviewed, data_lead, client_for, physician, physician2):
    a, b = sorted([physician.pk, physician2.pk])
    r = client_for(data_lead).get(
        reverse("review:dashboard"), {"part": "pair", "pair": f"{a}-{b}"}, headers={"HX-Request": "true"}
    )
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<section id="pair"') and "Cohen's kappa" in r.text


def test_a_running_export_shows_its_progress(data_lead, client_for):
    Export.objects.create(status=Export.Status.RUNNING, total=200, progress=50)
    r = client_for(data_lead).get(
        reverse("review:dashboard"), {"part": "exports"}, headers={"HX-Request": "true"}
    )
    assert 'value="50"' in r.text and "50 of 200" in r.text and 'hx-trigger="every 1s"' in r.text
    # Only the list is polled: the export form, which the data lead may be filling in, is not replaced.
    assert r.text.lstrip().startswith('<div id="export-list"') and "Create export" not in r.text


def test_physicians_cannot_see_the_dashboard(client_for, physician, db):
    assert client_for(physician).get(reverse("review:dashboard")).status_code == 403


def test_the_dashboard_with_no_reviews_yet(data_lead, client_for):
    r = client_for(data_lead).get(reverse("review:dashboard"))
    assert r.status_code == 200 and "No item has been reviewed by two physicians yet" in r.text
