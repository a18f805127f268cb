"""Hostile text from a teacher or a reviewer is shown as text, never run: escaped on every page."""

from django.urls import reverse

from review.models import Assignment, ItemRevision
from synth.models import Candidate

HOSTILE = (
    '<script>alert("x")</script> <svg onload=alert(1)></svg> '
    '<a href="javascript:alert(1)">click</a> <img src=x onerror=alert(1)>'
)
MARKUP = ("<script>alert", "<svg onload", 'href="javascript:', "<img src=x")


def assert_escaped(response):
    assert response.status_code == 200
    for markup in MARKUP:
        assert markup not in response.text, markup
    assert "&lt;script&gt;alert(" in response.text


def test_generated_text_and_edits_are_escaped_everywhere(client_for, physician, administrator, review_items):
    Candidate.objects.update(instruction=f"Explain {HOSTILE}", output=f"Answer {HOSTILE}")
    reviewer = client_for(physician)
    assert_escaped(reviewer.get(reverse("review:review")))

    assignment = Assignment.objects.get(reviewer=physician, status="active")
    r = reviewer.post(
        reverse("review:decide", args=[assignment.pk]),
        {"verdict": "edit", "instruction": "Explain this.", "output": f"Edited {HOSTILE}", "based_on": 0},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200
    revision = ItemRevision.objects.get()
    assert revision.output == f"Edited {HOSTILE}"  # stored as written, shown escaped

    admin = client_for(administrator)
    admin.force_login(administrator)
    administrator.is_superuser = True  # the admin's read-only pages of candidates and revisions
    administrator.save(update_fields=["is_superuser"])
    candidate = review_items[0].candidate
    for url in (
        f"/admin/synth/candidate/{candidate.pk}/change/",
        f"/admin/review/itemrevision/{revision.pk}/change/",
        "/admin/auditlog/logentry/",
        reverse("synth:run_detail", args=[candidate.run_id]),
    ):
        response = admin.get(url)
        assert response.status_code == 200, url
        for markup in MARKUP:
            assert markup not in response.text, (url, markup)


def test_pages_carry_a_nonce_only_script_policy(client_for, physician, review_items):
    r = client_for(physician).get(reverse("review:review"))
    policy = r.headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy and "unsafe-inline" not in policy


def test_downloads_are_attachments_the_browser_never_sniffs(
    client_for, data_lead, physician, review_items, django_capture_on_commit_callbacks
):
    from review.exports.build import request_export
    from review.queue import claim_next, submit_decision

    item = claim_next(physician)  # an export needs an approved record to have anything to download
    submit_decision(
        reviewer=physician, assignment_id=item.assignments.get(reviewer=physician).pk, verdict="accept"
    )
    with django_capture_on_commit_callbacks(execute=True):
        export = request_export(kind="sft", format="jsonl", created_by=data_lead)
    r = client_for(data_lead).get(reverse("review:export_download", args=[export.pk]))
    assert r.status_code == 200
    assert r["Content-Disposition"].startswith("attachment")
    assert r["X-Content-Type-Options"] == "nosniff"
