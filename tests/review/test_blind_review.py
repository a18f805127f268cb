"""Blind double review from the demo's defaults: `seed_demo`, a run from `manage.py generate` sampled
with overlap (every item needs two physicians), then the review, adjudication and dashboard pages."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from review.models import Assignment, Decision, ItemRevision, ReviewItem, SamplingPolicy

HTMX = {"HX-Request": "true"}


@pytest.fixture
def overlap_items(db, django_capture_on_commit_callbacks):
    """The demo's data, a default sampling policy sending every candidate to two physicians, and an
    offline Self-Instruct run from the command line."""
    call_command("seed_demo", stdout=StringIO())
    SamplingPolicy.objects.create(name="double review", rate=1.0, overlap_fraction=1.0, overlap_reviewers=2)
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "generate",
            "--technique",
            "self_instruct",
            "--count",
            "4",
            "--domain",
            "cardiology",
            stdout=StringIO(),
        )
    items = list(ReviewItem.objects.select_related("candidate").order_by("pk"))
    assert len(items) >= 2 and {i.required_reviews for i in items} == {2}
    return items


def user(username: str):
    return get_user_model().objects.get(username=username)


def client_as(username: str) -> Client:
    client = Client()
    client.force_login(user(username))
    return client


def open_item(client: Client, username: str):
    """The review page as the physician sees it, and the assignment it shows."""
    page = client.get(reverse("review:review"))
    assert page.status_code == 200
    assignment = (
        Assignment.objects.filter(reviewer=user(username), status="active")
        .order_by("claimed_at", "pk")
        .first()
    )
    return page.text, assignment


def decide(client: Client, assignment: Assignment, **fields):
    return client.post(reverse("review:decide", args=[assignment.pk]), fields, headers=HTMX)


def edit_fields(candidate, output: str, **extra) -> dict:
    return {
        "verdict": "edit",
        "instruction": candidate.instruction,
        "input": candidate.input,
        "output": output,
        "based_on": "0",
        **extra,
    }


def exported_sft(tmp_path, name="sft") -> dict[str, dict]:
    out = tmp_path / name
    call_command("export", "--kind", "sft", "--format", "jsonl", "--out", str(out), stdout=StringIO())
    records = [
        json.loads(line) for path in sorted(out.glob("*.jsonl")) for line in path.read_text().splitlines()
    ]
    return {r["id"]: r for r in records}


def test_two_physicians_edit_an_overlap_item_blind_and_the_senior_settles_it(overlap_items, tmp_path):
    first, second = client_as("physician"), client_as("physician2")
    page, mine = open_item(first, "physician")
    item = mine.item
    candidate = item.candidate
    assert (
        decide(first, mine, **edit_fields(candidate, "The first physician's corrected answer.")).status_code
        == 200
    )

    # The second physician gets the same item and sees the candidate's text, not the pending edit.
    page, theirs = open_item(second, "physician2")
    assert theirs.item_id == item.pk
    assert "The first physician" not in page
    assert 'name="based_on" value="0"' in page
    r = decide(second, theirs, **edit_fields(candidate, "The second physician's corrected answer."))
    assert r.status_code == 200 and "changed since you opened it" not in r.text

    # Both edits are kept, each its author's own; the item waits for a senior.
    revisions = {r.author.username: r for r in ItemRevision.objects.filter(item=item)}
    assert set(revisions) == {"physician", "physician2"}
    assert {r.based_on for r in revisions.values()} == {0}
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.NEEDS_ADJUDICATION

    senior = client_as("senior")
    listing = senior.get(reverse("review:adjudication_list")).text
    assert f"#{item.pk}" in listing and '<td data-testid="why">Approved texts differ</td>' in listing
    page = senior.get(reverse("review:adjudicate", args=[item.pk])).text
    assert "The approving reviewers' texts differ" in page
    assert page.count('data-testid="proposal"') == 2
    assert "The first physician&#x27;s corrected answer." in page
    assert "The second physician&#x27;s corrected answer." in page
    # The texts against each other: one's words removed, the other's added.
    comparison = page.split('data-testid="comparison"', 1)[1]
    assert "<del>first </del>" in comparison and "<ins>second </ins>" in comparison

    # Accepting without naming a text is refused; choosing the second physician's edit settles it.
    r = senior.post(reverse("review:adjudicate", args=[item.pk]), {"verdict": "accept"})
    assert r.status_code == 422 and "choose the text to accept" in r.text
    chosen = revisions["physician2"]
    r = senior.post(
        reverse("review:adjudicate", args=[item.pk]),
        {"verdict": "accept", "revision": chosen.pk, "comment": "The second wording is clearer."},
    )
    assert r.status_code == 302
    item.refresh_from_db()
    assert (item.status, item.final_verdict, item.final_revision) == ("decided", "edit", chosen)

    # What exports read is the settled text.
    record = exported_sft(tmp_path)[f"item-{item.pk}"]
    assert record["messages"][-1]["content"] == "The second physician's corrected answer."


def test_an_accept_and_an_edit_go_to_adjudication_and_two_accepts_settle(overlap_items, client):
    first, second = client_as("physician"), client_as("physician2")
    _, a1 = open_item(first, "physician")
    _, b1 = open_item(second, "physician2")
    assert a1.item_id == b1.item_id
    decide(first, a1, verdict="accept")
    decide(second, b1, verdict="accept")
    _, a2 = open_item(first, "physician")
    _, b2 = open_item(second, "physician2")
    assert a2.item_id == b2.item_id != a1.item_id
    decide(first, a2, verdict="accept")
    decide(second, b2, **edit_fields(a2.item.candidate, "A better answer."))

    settled, disputed = ReviewItem.objects.get(pk=a1.item_id), ReviewItem.objects.get(pk=a2.item_id)
    assert (settled.status, settled.final_verdict, settled.final_revision) == ("decided", "accept", None)
    assert disputed.status == "needs_adjudication"

    # Agreement still counts approve against reject (both items: full agreement); the new figure
    # counts the item whose approving texts differ.
    client.force_login(user("datalead"))
    page = client.get(reverse("review:dashboard")).text
    texts = page.split('data-testid="texts-differ"', 1)[1].split("</p>", 1)[0]
    assert "<strong>1</strong> of 2 items" in texts and "(50%)" in texts
    out = StringIO()
    call_command("agreement_report", stdout=out)
    assert "Approved texts differ: 1 of 2 items" in out.getvalue()


def test_a_settled_adjudication_shows_the_outcome_who_settled_it_and_reason_labels(overlap_items):
    first, second = client_as("physician"), client_as("physician2")
    _, mine = open_item(first, "physician")
    _, theirs = open_item(second, "physician2")
    decide(first, mine, verdict="accept")
    decide(
        second,
        theirs,
        verdict="reject",
        reasons=["factually_wrong", "other"],
        comment="Wrong first-line drug.",
    )
    item = ReviewItem.objects.get(pk=mine.item_id)
    assert item.status == "needs_adjudication"
    senior = client_as("senior")
    assert (
        '<td data-testid="why">Approve against reject</td>'
        in senior.get(reverse("review:adjudication_list")).text
    )
    r = senior.post(
        reverse("review:adjudicate", args=[item.pk]),
        {"verdict": "reject", "comment": "Agree with the second reviewer: the drug is wrong."},
    )
    assert r.status_code == 302
    page = senior.get(reverse("review:adjudicate", args=[item.pk])).text
    settled = page.split('data-testid="settled"', 1)[1].split("</section>", 1)[0]
    assert "Settled: Reject" in settled
    assert "Settled by <strong>senior</strong>" in settled
    assert "Agree with the second reviewer: the drug is wrong." in settled
    verdicts = page.split("The reviewers' verdicts", 1)[1].split("</section>", 1)[0]
    assert "<strong>physician</strong>: Accept" in verdicts
    assert "<strong>physician2</strong>: Reject" in verdicts
    assert "reasons: Factually wrong, Other (say why)" in verdicts and "factually_wrong" not in verdicts
    assert "Wrong first-line drug." in verdicts
    assert "Final verdict" not in page  # nothing left to settle

    # An accepted settlement shows the final text.
    _, mine = open_item(first, "physician")
    _, theirs = open_item(second, "physician2")
    decide(first, mine, **edit_fields(mine.item.candidate, "One wording."))
    decide(second, theirs, **edit_fields(mine.item.candidate, "Another wording."))
    chosen = ItemRevision.objects.get(item=mine.item, author__username="physician")
    senior.post(
        reverse("review:adjudicate", args=[mine.item_id]), {"verdict": "accept", "revision": chosen.pk}
    )
    page = senior.get(reverse("review:adjudicate", args=[mine.item_id])).text
    final = page.split('data-testid="final-text"', 1)[1].split("</section>", 1)[0]
    assert "One wording." in final and "Another wording." not in final
    assert "Settled: Accept" in page


@pytest.mark.parametrize("based_on", [None, "-1", "abc", ""])
def test_an_edit_without_a_valid_based_on_is_refused_and_stores_nothing(overlap_items, based_on):
    client = client_as("physician")
    _, assignment = open_item(client, "physician")
    fields = edit_fields(assignment.item.candidate, "A corrected answer.")
    if based_on is None:
        del fields["based_on"]
    else:
        fields["based_on"] = based_on
    r = decide(client, assignment, **fields)
    assert r.status_code == 422
    assert "version" in r.text and "nothing was saved" in r.text
    assert "A corrected answer." in r.text  # the reviewer's text is kept in the editor
    assert not Decision.history.exists() and not ItemRevision.objects.exists()
    fields["based_on"] = "0"
    assert decide(client, assignment, **fields).status_code == 200
    assert ItemRevision.objects.get().based_on == 0


PHI_INSTRUCTION = "A patient, MRN 4481923, presents with chest pain: outline the initial workup."
CLEAN_INSTRUCTIONS = [
    "Outline the initial workup of acute chest pain in adults.",
    "List the contraindications to thrombolysis in ischaemic stroke.",
    "Explain how to titrate beta blockers in chronic heart failure.",
]


@pytest.fixture
def phi_in_an_instruction(db, settings, django_capture_on_commit_callbacks):
    """The demo's data and a run of a real OpenAI-compatible teacher (a loopback server, added with
    `manage.py teacher add`) whose Self-Instruct tasks include one carrying a record number."""
    from tests.synth.teachers.test_teacher_providers import Reply, ScriptedServer, openai_reply

    call_command("seed_demo", stdout=StringIO())
    SamplingPolicy.objects.create(name="review all", rate=1.0)

    def respond(request) -> Reply:
        name = request.body["response_format"]["json_schema"]["name"]
        if name == "tasks":
            tasks = [{"instruction": text, "input": ""} for text in [PHI_INSTRUCTION, *CLEAN_INSTRUCTIONS]]
            data = {"tasks": tasks}
        else:
            data = {"output": "Take a history, record an ECG within ten minutes and measure troponin."}
        return Reply(openai_reply(json.dumps(data)))

    server = ScriptedServer()
    server.responder = respond
    server.start()
    settings.TEACHER_API_KEYS = {"LOOPBACK_API_KEY": "sk-loopback-0123456789"}
    # A model server on this machine, exempt from the screen before teachers: the instruction it
    # writes reaches its own answer call, so the item's PHI is in its instruction.
    settings.TEACHER_PHI_SCREEN_LOCAL = False
    call_command(
        "teacher", "add", "loopback", "--provider", "openai", "--model", "test-model",
        "--base-url", f"{server.url}/v1", "--api-key-env", "LOOPBACK_API_KEY", stdout=StringIO(),
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "generate", "--technique", "self_instruct", "--teacher", "loopback", "--count", "4",
            "--domain", "cardiology", stdout=StringIO(),
        )  # fmt: skip
    server.stop()
    held = ReviewItem.objects.filter(candidate__instruction=PHI_INSTRUCTION, candidate__held_back=True)
    assert held.exists(), "the gate holds back the candidate whose instruction has a record number"
    return held.get()


def review_until(client: Client, username: str, item: ReviewItem) -> Assignment:
    """Accept other items until the review page shows `item`."""
    for _ in range(10):
        _, assignment = open_item(client, username)
        if assignment.item_id == item.pk:
            return assignment
        assert decide(client, assignment, verdict="accept").status_code == 200
    raise AssertionError(f"item {item.pk} never came up")


def accept_the_rest(client: Client, username: str) -> None:
    while True:
        _, assignment = open_item(client, username)
        if assignment is None:
            return
        assert decide(client, assignment, verdict="accept").status_code == 200


def test_an_edit_of_the_answer_only_leaves_the_instructions_phi_held_back(phi_in_an_instruction, tmp_path):
    item = phi_in_an_instruction
    candidate = item.candidate
    client = client_as("physician")
    assignment = review_until(client, "physician", item)
    r = decide(
        client, assignment, **edit_fields(candidate, "Record an ECG within ten minutes; measure troponin.")
    )
    assert r.status_code == 200
    notice = r.text.split('data-testid="notice"', 1)[1].split("</p>", 1)[0]
    assert "still has possible PHI (Instruction: medical record number)" in notice
    revision = ItemRevision.objects.get(item=item)
    assert revision.has_phi and {f["field"] for f in revision.phi_findings} == {"instruction"}
    item.refresh_from_db()
    assert item.is_approved and item.final_revision == revision  # decided, but not cleaned
    accept_the_rest(client, "physician")
    # Other approved records are exported; this one is not.
    records = exported_sft(tmp_path, "answer-only")
    assert records and f"item-{item.pk}" not in records
    assert not any("4481923" in json.dumps(r) for r in records.values())


def test_an_edit_that_removes_the_phi_releases_the_held_back_item(phi_in_an_instruction, tmp_path):
    item = phi_in_an_instruction
    client = client_as("physician")
    assignment = review_until(client, "physician", item)
    fields = edit_fields(item.candidate, item.candidate.output)
    fields["instruction"] = "A patient presents with chest pain: outline the initial workup."
    r = decide(client, assignment, **fields)
    assert r.status_code == 200 and "still has possible PHI" not in r.text
    revision = ItemRevision.objects.get(item=item)
    assert not revision.has_phi and revision.phi_findings == []
    accept_the_rest(client, "physician")
    record = exported_sft(tmp_path, "cleaned")[f"item-{item.pk}"]
    assert record["messages"][-2]["content"].endswith(
        "A patient presents with chest pain: outline the initial workup."
    )


def test_the_migration_fills_digests_and_phi_findings_as_the_queue_does(overlap_items):
    import importlib

    from django.apps import apps

    first, second = client_as("physician"), client_as("physician2")
    _, mine = open_item(first, "physician")
    _, theirs = open_item(second, "physician2")
    decide(first, mine, verdict="accept")
    decide(second, theirs, **edit_fields(mine.item.candidate, "Call 555-867-5309 for the answer."))
    stored = {d.pk: d.text_digest for d in Decision.objects.all()}
    screened = {r.pk: (r.has_phi, r.phi_findings) for r in ItemRevision.objects.all()}
    assert all(stored.values()) and any(has for has, _ in screened.values())
    Decision.objects.update(text_digest="")
    ItemRevision.objects.update(has_phi=False, phi_findings=[])
    migration = importlib.import_module("review.migrations.0010_blind_review_texts_and_edit_phi_screen")
    migration.fill(apps, None)
    assert {d.pk: d.text_digest for d in Decision.objects.all()} == stored
    assert {r.pk: (r.has_phi, r.phi_findings) for r in ItemRevision.objects.all()} == screened


def test_the_senior_can_write_the_final_text_and_a_bad_based_on_keeps_it(overlap_items, tmp_path):
    from review.models import Adjudication

    first, second = client_as("physician"), client_as("physician2")
    _, mine = open_item(first, "physician")
    _, theirs = open_item(second, "physician2")
    candidate = mine.item.candidate
    decide(first, mine, **edit_fields(candidate, "One wording."))
    decide(second, theirs, **edit_fields(candidate, "Another wording."))
    senior = client_as("senior")
    url = reverse("review:adjudicate", args=[mine.item_id])
    own = {"verdict": "edit", "instruction": candidate.instruction, "input": candidate.input}
    r = senior.post(url, {**own, "output": "The senior's own wording.", "based_on": "abc"})
    assert r.status_code == 422 and "not a version number" in r.text
    assert "The senior&#x27;s own wording.</textarea>" in r.text  # kept in the editor
    assert not Adjudication.objects.exists() and ItemRevision.objects.count() == 2
    assert (
        senior.post(url, {**own, "output": "The senior's own wording.", "based_on": "0"}).status_code == 302
    )
    item = ReviewItem.objects.get(pk=mine.item_id)
    assert item.final_revision.author.username == "senior" and not item.final_revision.has_phi
    record = exported_sft(tmp_path)[f"item-{item.pk}"]
    assert record["messages"][-1]["content"] == "The senior's own wording."
