"""The launch form shows only the chosen technique's options (static/launch-form.js, under the page's
strict CSP), in Chromium. (Launching from it: tests/synth/techniques/test_summarization.py.)"""

import pytest
from playwright.sync_api import expect

from synth.demo_data import load_demo_data

pytestmark = pytest.mark.browser


def test_only_the_chosen_techniques_options_are_shown(live_server, login, administrator):
    load_demo_data(with_users=False)
    admin = login(administrator)
    refused = []
    admin.on("console", lambda message: refused.append(message.text) if message.type == "error" else None)
    admin.get_by_role("link", name="Runs").click()
    admin.get_by_role("link", name="Launch a run").click()
    sections = {
        name: admin.get_by_test_id(f"options-{name}")
        for name in ("evol_instruct", "distillation", "summarization", "backtranslation", "preference")
    }

    def only(shown: str | None) -> None:
        for name, section in sections.items():
            if name == shown:
                expect(section).to_be_visible()
            else:
                expect(section).to_be_hidden()

    only(None)  # Self-Instruct, the first technique, has no options of its own
    technique = admin.get_by_label("Technique")
    technique.select_option(label="Distillation")
    only("distillation")
    expect(admin.get_by_label("Query set")).to_be_visible()
    technique.select_option(label="Backtranslation")
    only("backtranslation")
    technique.select_option(label="Summarization (distillation over documents)")
    only("summarization")
    task = admin.get_by_label("Task for each document")
    expect(task).to_be_visible()

    # After a refused launch, the form comes back with the chosen technique's options shown.
    technique.select_option(label="Evol-Instruct")
    admin.get_by_label("Candidates to generate").fill("0")
    admin.get_by_role("button", name="Launch run").click()
    expect(admin.get_by_text("Ensure this value is greater than or equal to 1.")).to_be_visible()
    only("evol_instruct")
    assert not [text for text in refused if "Content Security Policy" in text], refused
