"""The review page shows the quality gate's flags with their evidence (templates/review/flags.html)."""

from __future__ import annotations

from django.urls import reverse

from review.models import Assignment
from synth.quality.gate import apply_gate


def test_the_review_page_shows_phi_spans_unverified_codes_and_unknown_drugs(
    client_for, physician, review_items
):
    client = client_for(physician)
    client.get(reverse("review:review"))
    candidate = Assignment.objects.get(reviewer=physician, status="active").item.candidate
    candidate.input = "Mr. John <b>Smith</b>, MRN 00123456, seen on 2024-03-14."
    candidate.output = "Essential hypertension (E11.9): start Zorblaxitol 20 mg and metfromin 500 mg."
    candidate.save()
    apply_gate(candidate)

    r = client.get(reverse("review:review"))
    assert r.status_code == 200
    assert 'data-testid="held-back"' in r.text
    assert '<mark class="phi" title="Medical record number" data-testid="phi-span">00123456</mark>' in r.text
    assert (
        '<mark class="phi" title="Date more specific than the year" data-testid="phi-span">2024-03-14</mark>'
        in r.text
    )
    assert "&lt;b&gt;" in r.text and "<b>Smith" not in r.text  # the text around the marks stays escaped
    assert "<code>E11.9</code>: &quot;Essential hypertension&quot; does not match E11.9" in r.text
    assert "“Zorblaxitol” is not in the drug dictionary" in r.text
    assert "did the teacher mean <em>metformin</em>?" in r.text
    assert 'data-testid="novelty"' in r.text


def test_an_unflagged_item_says_the_gate_raised_nothing(client_for, physician, review_items):
    client = client_for(physician)
    r = client.get(reverse("review:review"))
    candidate = Assignment.objects.get(reviewer=physician, status="active").item.candidate
    assert not candidate.held_back
    assert "The quality gate raised no flags." in r.text
