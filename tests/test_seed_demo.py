"""`seed_demo`: the demo's data, idempotent; with --runs (as `make demo` runs it) a review queue with
something in it."""

from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from synth.models import (
    Candidate,
    Domain,
    GenerationRun,
    KnowledgeFact,
    Query,
    QuerySet,
    SeedTask,
    SourceDocument,
    Teacher,
)
from synth.techniques import TECHNIQUES


def test_seed_demo_is_idempotent(db):
    call_command("seed_demo")
    counts = (
        Domain.objects.count(),
        SeedTask.objects.count(),
        Teacher.objects.count(),
        get_user_model().objects.count(),
        KnowledgeFact.objects.count(),
        QuerySet.objects.count(),
        Query.objects.count(),
        SourceDocument.objects.count(),
    )
    call_command("seed_demo")
    assert counts == (
        Domain.objects.count(),
        SeedTask.objects.count(),
        Teacher.objects.count(),
        get_user_model().objects.count(),
        KnowledgeFact.objects.count(),
        QuerySet.objects.count(),
        Query.objects.count(),
        SourceDocument.objects.count(),
    )
    assert Teacher.objects.get(name="offline").provider == "offline"


def test_seed_demo_gives_each_demo_account_its_role(db):
    call_command("seed_demo")
    users = {u.username: u for u in get_user_model().objects.all()}
    assert users["physician"].has_perm("review.review_item")
    assert not users["physician"].has_perm("review.export_data")
    assert users["datalead"].has_perm("review.export_data")
    assert not users["datalead"].has_perm("review.review_item")
    assert users["admin"].is_staff


def test_seed_demo_can_skip_the_demo_accounts(db):
    call_command("seed_demo", "--no-users")
    assert not get_user_model().objects.exists()
    assert Domain.objects.exists()


def test_seed_demo_keeps_an_administrators_changes(db):
    call_command("seed_demo", "--no-users")
    Domain.objects.filter(slug="cardiology").update(name="Cardiology (adult)")
    call_command("seed_demo", "--no-users")
    assert Domain.objects.filter(slug="cardiology").get().name == "Cardiology (adult)"


def test_seed_demo_gives_every_technique_its_material(db):
    call_command("seed_demo")
    assert QuerySet.objects.get(name="Demo: coding and dosing questions").queries.count() == 8
    documents = SourceDocument.objects.all()
    assert documents.count() == 3 and not documents.filter(held_back=True).exists()  # pass the PHI screen
    assert KnowledgeFact.objects.filter(drug="metformin").count() == 2


def test_seed_demo_writes_reviewer_guidelines_once_and_keeps_an_administrators(db, client):
    from review.models import ReviewerGuideline

    call_command("seed_demo", "--no-users")
    call_command("seed_demo", "--no-users")
    assert ReviewerGuideline.objects.count() == 1
    ReviewerGuideline.objects.update(body="Our own guidelines.")
    call_command("seed_demo", "--no-users")
    assert list(ReviewerGuideline.objects.values_list("body", flat=True)) == ["Our own guidelines."]


def test_seed_demo_without_runs_generates_nothing(db):
    call_command("seed_demo", "--no-users")
    assert not GenerationRun.objects.exists()


def test_the_demos_first_login_finds_items_from_every_technique_and_a_second_seed_adds_none(db, client):
    """`make demo` runs `seed_demo --runs`: a physician who logs in first has items to review, from a
    small offline run of each technique, and the guidelines one key away."""
    from review.models import ReviewItem

    out = StringIO()
    call_command("seed_demo", "--runs", stdout=out)
    runs = GenerationRun.objects.all()
    assert sorted(runs.values_list("technique", flat=True)) == sorted(TECHNIQUES)
    for run in runs:
        assert run.status == GenerationRun.Status.COMPLETED, (run.technique, run.error)
        assert ReviewItem.objects.filter(candidate__run=run).exists(), run.technique
        assert f"run {run.pk} completed" in out.getvalue()

    r = client.post(
        reverse("login"), {"username": "physician", "password": "physician-demo-pass"}, follow=True
    )
    assert r.status_code == 200 and r.context["user"].username == "physician"
    page = client.get(reverse("review:review"))
    assert page.status_code == 200
    assert 'data-testid="queue-empty"' not in page.text and "data-assignment=" in page.text
    assert "Reviewer guidelines (demo)" in client.get(reverse("review:guidelines")).text

    counts = (GenerationRun.objects.count(), Candidate.objects.count(), ReviewItem.objects.count())
    out = StringIO()
    call_command("seed_demo", "--runs", stdout=out)
    assert (GenerationRun.objects.count(), Candidate.objects.count(), ReviewItem.objects.count()) == counts
    assert "none added" in out.getvalue()
