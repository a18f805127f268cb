import pytest
from django.urls import reverse

from synth.models import Domain, GenerationRun


@pytest.fixture
def admin_client(client_for, administrator):
    return client_for(administrator)


def launch_data(offline_teacher, **overrides):
    return {
        "teacher": offline_teacher.pk,
        "technique": "self_instruct",
        "requested_count": 5,
        "sample_percent": 100,
        **overrides,
    }


def test_it_launches_a_run_and_shows_its_page(admin_client, demo_config, django_capture_on_commit_callbacks):
    cardiology = Domain.objects.get(slug="cardiology")
    with django_capture_on_commit_callbacks(execute=True):
        r = admin_client.post(reverse("synth:run_new"), launch_data(demo_config, domains=[cardiology.pk]))
    run = GenerationRun.objects.get()
    assert r.status_code == 302 and r.url == reverse("synth:run_detail", args=[run.pk])
    assert list(run.domains.all()) == [cardiology]
    page = admin_client.get(r.url)
    assert page.status_code == 200
    assert "Completed" in page.text and "5 / 5" in page.text


def test_the_run_page_serves_only_its_progress_fragment_to_htmx(admin_client, demo_config):
    run = GenerationRun.objects.create(
        teacher=demo_config, technique="self_instruct", requested_count=3, sample_rate=1
    )
    r = admin_client.get(reverse("synth:run_detail", args=[run.pk]), headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<section id="progress"')
    assert 'hx-trigger="every 1s"' in r.text  # a queued run keeps polling
    assert "<html" not in r.text


def test_a_finished_run_stops_polling(admin_client, demo_config):
    run = GenerationRun.objects.create(
        teacher=demo_config, technique="self_instruct", requested_count=3, sample_rate=1, status="completed"
    )
    r = admin_client.get(reverse("synth:run_detail", args=[run.pk]), headers={"HX-Request": "true"})
    assert "hx-trigger" not in r.text


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"requested_count": 0}, "greater than or equal to 1"),
        ({"requested_count": "many"}, "Enter a whole number"),
        ({"sample_percent": 101}, "less than or equal to 100"),
        ({"technique": "telepathy"}, "Select a valid choice"),
        ({"teacher": 999}, "Select a valid choice"),
    ],
)
def test_bad_launch_input_gets_a_message_and_launches_nothing(admin_client, demo_config, overrides, message):
    r = admin_client.post(reverse("synth:run_new"), launch_data(demo_config, **overrides))
    assert r.status_code == 422
    assert message in r.text
    assert not GenerationRun.objects.exists()


def test_it_cancels_a_queued_run(admin_client, demo_config):
    run = GenerationRun.objects.create(
        teacher=demo_config, technique="self_instruct", requested_count=3, sample_rate=1
    )
    r = admin_client.post(reverse("synth:run_cancel", args=[run.pk]))
    assert r.status_code == 302
    run.refresh_from_db()
    assert run.status == "cancelled"


def test_the_run_list_shows_runs(admin_client, demo_config):
    GenerationRun.objects.create(
        teacher=demo_config, technique="self_instruct", requested_count=3, sample_rate=1
    )
    r = admin_client.get(reverse("synth:run_list"))
    assert r.status_code == 200 and "Self-Instruct" in r.text


def test_cancel_rejects_get(admin_client, demo_config):
    run = GenerationRun.objects.create(
        teacher=demo_config, technique="self_instruct", requested_count=3, sample_rate=1
    )
    assert admin_client.get(reverse("synth:run_cancel", args=[run.pk])).status_code == 405


@pytest.mark.parametrize("url_name", ["synth:run_list", "synth:run_new"])
def test_physicians_and_data_leads_cannot_reach_run_pages(client_for, physician, data_lead, url_name):
    assert client_for(physician).get(reverse(url_name)).status_code == 403
    assert client_for(data_lead).get(reverse(url_name)).status_code == 403


def test_a_physician_cannot_launch_a_run(client_for, physician, demo_config):
    r = client_for(physician).post(reverse("synth:run_new"), launch_data(demo_config))
    assert r.status_code == 403
    assert not GenerationRun.objects.exists()


def test_anonymous_users_are_sent_to_login(client, db):
    r = client.get(reverse("synth:run_new"))
    assert r.status_code == 302 and r.url.startswith(reverse("login"))


def test_a_physician_cannot_reach_the_admin(client_for, physician):
    r = client_for(physician).get("/admin/")
    assert r.status_code == 302 and "/admin/login/" in r.url


def test_the_admin_lists_domains_seed_tasks_and_teachers_with_a_launch_link(client_for, demo_config):
    from django.contrib.auth import get_user_model

    superuser = get_user_model().objects.create_superuser("root", password="x-long-password-1")
    client = client_for(superuser)
    for model in ("domain", "seedtask", "teacher"):
        assert client.get(f"/admin/synth/{model}/").status_code == 200
    runs = client.get("/admin/synth/generationrun/")
    assert reverse("synth:run_new") in runs.text


def test_the_administrator_role_can_manage_configuration_in_the_admin(client_for, administrator, demo_config):
    client = client_for(administrator)
    assert client.get("/admin/synth/teacher/add/").status_code == 200
    assert client.get("/admin/synth/domain/").status_code == 200
    # Generated records are read-only, even for administrators.
    assert client.get("/admin/synth/candidate/add/").status_code == 403


def test_the_launch_form_shows_a_cost_estimate(admin_client, demo_config):
    from synth.models import Teacher

    gpt = Teacher.objects.create(
        name="gpt", provider="openai", model="gpt-4.1", api_key_env="OPENAI_API_KEY",
        price_input_per_mtok=2, price_output_per_mtok=8,
    )  # fmt: skip
    page = admin_client.get(reverse("synth:run_new"))
    assert 'data-testid="estimate"' in page.text
    r = admin_client.get(
        reverse("synth:run_estimate"),
        {"teacher": gpt.pk, "technique": "self_instruct", "requested_count": 1000, "sample_percent": 10},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200 and r.text.lstrip().startswith('<p id="estimate"')
    # Self-Instruct: 2 calls per record, 350 tokens in and 250 out per call: $1.40 + $4.00.
    assert "$5.4000" in r.text and "2000 calls" in r.text


def test_the_launch_form_passes_the_techniques_options(
    admin_client, demo_config, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("synth:run_new"),
            launch_data(demo_config, technique="preference", contrast="flawed", rounds=5, requested_count=1),
        )
    assert GenerationRun.objects.get().options == {"contrast": "flawed"}


def test_it_uploads_a_query_set_or_refuses_it_whole(admin_client, demo_config):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from synth.models import QuerySet

    bad = SimpleUploadedFile("q.jsonl", b'{"query": "Fine?"}\n{"query": ""}\n')
    r = admin_client.post(reverse("synth:query_sets"), {"name": "ed", "file": bad})
    assert r.status_code == 422 and "line 2" in r.text and not QuerySet.objects.filter(name="ed").exists()
    good = SimpleUploadedFile("q.csv", b"question\nDefine shock.\nName two beta blockers.\n")
    r = admin_client.post(reverse("synth:query_sets"), {"name": "ed", "file": good})
    assert r.status_code == 302
    assert list(QuerySet.objects.get(name="ed").queries.values_list("line", flat=True)) == [2, 3]
    r = admin_client.post(reverse("synth:query_sets"), {"name": "typed", "typed": "One?\nTwo?"})
    assert r.status_code == 302 and QuerySet.objects.get(name="typed").queries.count() == 2


def test_a_document_with_phi_is_listed_as_held_back(admin_client, demo_config):
    r = admin_client.post(
        reverse("synth:documents"),
        {"title": "Discharge", "text": "Patient John Smith, MRN 1234567, seen 03/14/2024 for asthma."},
        follow=True,
    )
    assert "Held back" in r.text and "held back" in r.text


@pytest.mark.parametrize("name", ["synth:query_sets", "synth:documents", "synth:run_estimate"])
def test_the_material_pages_are_for_administrators_only(client_for, physician, name):
    assert client_for(physician).get(reverse(name)).status_code == 403
