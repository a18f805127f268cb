from django.contrib.auth import get_user_model
from django.core.management import call_command

from synth.models import Domain, KnowledgeFact, Query, QuerySet, SeedTask, SourceDocument, Teacher


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
