"""The dashboard's charts in Chromium under the site's CSP: drawn with data, honest without, no console
error and no CSP violation; a bar with an href is a link."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from review.models import Assignment, ReviewItem, SamplingPolicy
from review.queue import claim_next, submit_decision
from tests.browser.accessibility import serious_violations
from tests.browser.conftest import assert_clean


def drawn_charts(page) -> list[str]:
    """The ids of the charts Chart.js has drawn on the page."""
    return page.evaluate(
        "[...document.querySelectorAll('canvas[data-chart]')]"
        ".filter((c) => window.Chart.getChart(c)).map((c) => c.dataset.chart)"
    )


def test_an_empty_studio_shows_why_each_chart_is_empty(db, data_lead_page, live_server):
    call_command("seed_demo")
    page = data_lead_page()
    page.goto(f"{live_server.url}/dashboard/")
    expect(page.get_by_test_id("funnel-chart")).to_contain_text("Nothing generated yet")
    expect(page.get_by_test_id("domain-agreement-chart")).to_contain_text(
        "0 double-reviewed items; agreement needs at least 10 per domain."
    )
    expect(page.get_by_test_id("novelty-chart")).to_contain_text("No novelty scores yet")
    assert page.locator("canvas").count() == 0
    expect(page.get_by_test_id("toc").get_by_role("link")).to_have_count(6)
    assert_clean(page)


def review_all(username: str, verdict_of) -> None:
    reviewer = get_user_model().objects.get(username=username)
    n = 0
    while item := claim_next(reviewer):
        assignment = Assignment.objects.get(item=item, reviewer=reviewer)
        verdict = verdict_of(n)
        extra = {"reasons": ["factually_wrong"]} if verdict == "reject" else {}
        submit_decision(reviewer=reviewer, assignment_id=assignment.pk, verdict=verdict, **extra)
        n += 1


def test_the_demo_charts_draw_under_the_csp_with_negative_alpha(db, data_lead_page, live_server):
    # From the demo: a default sampling policy sends everything to two physicians; an offline run.
    call_command("seed_demo")
    SamplingPolicy.objects.create(
        name="Everything, twice", rate=1.0, overlap_fraction=1.0, overlap_reviewers=2
    )
    call_command("generate", technique="self_instruct", count=14, domain=["infectious-disease"])
    assert ReviewItem.objects.filter(required_reviews=2).count() >= 10
    # The first physician approves everything; the second rejects every fifth: worse than chance.
    review_all("physician", lambda n: "accept")
    review_all("physician2", lambda n: "reject" if n % 5 == 0 else "accept")

    page = data_lead_page()
    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_function(
        "document.querySelectorAll('canvas[data-chart]').length > 0 && Boolean(window.Chart)"
    )
    page.wait_for_function(
        "[...document.querySelectorAll('canvas[data-chart]')].every((c) => window.Chart.getChart(c))"
    )
    drawn = drawn_charts(page)
    for chart in ("funnel-chart", "agreement-chart", "timeline-chart", "domain-agreement-chart",
                  "technique-chart", "verdicts-chart", "domain-chart", "novelty-chart"):  # fmt: skip
        assert f"chart-data-{chart}" in drawn

    # Alpha is below 0: the axis goes below 0 to show it, and the floors are drawn over it.
    axis = page.evaluate(
        "(() => { const c = Chart.getChart(document.querySelector('[data-chart=chart-data-technique-chart]'));"
        " return [c.scales.x.min, c.data.datasets[0].data[0], c.data.labels[0]]; })()"
    )
    assert axis[1] < 0 and axis[0] <= axis[1] and axis[2] == "Self-Instruct"

    # The tooltip names n and the 95 % interval.
    tooltip = page.evaluate(
        """(() => {
          const c = Chart.getChart(document.querySelector('[data-chart=chart-data-technique-chart]'));
          c.tooltip.setActiveElements([{datasetIndex: 0, index: 0}], {x: 0, y: 0});
          c.update();
          return c.tooltip.body.flatMap((b) => b.lines);
        })()"""
    )
    assert any(line.startswith("95% interval") for line in tooltip)
    assert any(line.startswith("n = ") for line in tooltip)
    assert_clean(page)
    assert serious_violations(page) == []

    # A bar with an href is a link: "Sampled for review" opens those records in the record browser.
    canvas = page.locator("[data-chart=chart-data-funnel-chart]")
    canvas.scroll_into_view_if_needed()
    point = page.evaluate(
        "(() => { const c = Chart.getChart(document.querySelector('[data-chart=chart-data-funnel-chart]'));"
        " const bar = c.getDatasetMeta(0).data[2]; return [bar.base + 5, bar.y]; })()"
    )
    canvas.click(position={"x": point[0], "y": point[1]})
    page.wait_for_url(f"{live_server.url}/records/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_clean(page)
