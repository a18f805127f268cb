"""The launch form's sampling rule follows the form as it is filled in, in the browser (htmx)."""

import re

from playwright.sync_api import expect

from review.models import SamplingPolicy
from synth.demo_data import load_demo_data


def test_the_rule_shown_follows_the_share_and_names_a_default_policy(live_server, login, administrator):
    load_demo_data(with_users=False)
    admin = login(administrator)
    admin.goto(f"{live_server.url}/runs/new/")
    rule = admin.get_by_test_id("sampling-rule")
    expect(rule).to_contain_text("50% of the candidates that pass the quality gate")
    admin.get_by_label("Share sent to physicians (%)").fill("30")
    expect(rule).to_contain_text("30% of the candidates that pass the quality gate")

    SamplingPolicy.objects.create(name="Light touch", rate=0.2)
    admin.reload()
    expect(rule).to_contain_text(re.compile(r"default sampling policy Light touch, not by the share above"))
    admin.get_by_label("Share sent to physicians (%)").fill("90")
    admin.get_by_label("Candidates to generate").fill("7")  # any change refreshes it
    expect(rule).to_contain_text("20% of each domain and technique")
    expect(rule).not_to_contain_text("90%")
