"""Non-answers and cut-off text never reach physicians, for every technique and teacher (issue 11, point 4)."""

import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from review.models import ReviewItem
from synth.demo_data import SAMPLE_QUERY_SET
from synth.generation import execute_run, launch_run
from synth.models import Candidate, GenerationRun, QualityResult, QuerySet, Teacher, TeacherCall
from synth.quality.non_answer import non_answer_rule, truncation_rule
from synth.techniques.queries import import_queries
from tests.synth.teachers.test_teacher_providers import Reply, ScriptedServer, openai_reply


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Sorry, the offline teacher has no reference answer for this instruction.", "refusal"),
        ("I'm sorry, but I can't help with that.", "refusal"),
        ("As an AI language model, I cannot give medical advice.", "refusal"),
        ("I apologize, I do not have enough information to answer.", "refusal"),
        ("Unfortunately, I am unable to provide dosing advice.", "refusal"),
        ("N/A", "placeholder"),
        ("[insert answer here]", "placeholder"),
        ("<answer>", "placeholder"),
        ("Your answer here.", "placeholder"),
        ("TBD", "placeholder"),
        ("   ", "empty"),
        ("...", "no_content"),
        ("It is what it is.", "no_content"),
    ],
)
def test_it_names_what_is_not_an_answer(text, rule):
    assert non_answer_rule(text) == rule


@pytest.mark.parametrize(
    "text",
    [
        "I10.",
        "Essential (primary) hypertension is ICD-10-CM category I10, in chapter 9.",
        "I cannot recommend a fixed number: use the hour-specific nomogram of current guidelines.",
        "Use the nomogram; a single fixed threshold is not safe to apply in every newborn.",
        "Congestive heart failure (1), hypertension (1), age 75 or over (2), female sex (1)",
    ],
)
def test_real_answers_pass_both_rules(text):
    assert non_answer_rule(text) == "" and truncation_rule(text) == ""


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Give fluids, then start a fixed-rate insulin infusion at.", "dangling_word"),
        ("Confirm glucose and ketones, start fluids and", "dangling_word"),
        ("Confirm glucose and ketones, start fluids,", "open_end"),
        ("The first steps are fluids (isotonic saline", "unclosed_bracket"),
        ("The first steps are fluids, insulin and…", "ellipsis"),
        ("Start isotonic fluids. Then give intravenous insulin at a rate of", "dangling_word"),
        (
            "Start isotonic fluids. Then give intravenous insulin once potassium is known",
            "unfinished_sentence",
        ),
    ],
)
def test_it_names_cut_off_text(text, rule):
    assert truncation_rule(text) == rule


def test_an_instruction_may_end_on_a_colon_but_an_answer_may_not():
    assert truncation_rule("Assign the ICD-10-CM code to the diagnosis below:", instruction=True) == ""
    assert truncation_rule("The first steps are:") == "open_end"


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=StringIO())


def generate(*args: str) -> GenerationRun:
    call_command("generate", *args, stdout=StringIO())
    return GenerationRun.objects.order_by("-pk").first()


def assert_nothing_in_review_is_a_non_answer():
    items = ReviewItem.objects.select_related("candidate")
    assert items.exists()
    for item in items:
        candidate = item.candidate
        for text in (candidate.instruction, candidate.output, candidate.rejected_output):
            if text:
                assert non_answer_rule(text) == "" and truncation_rule(text) == "", text
        checks = QualityResult.objects.filter(candidate=candidate, check_name__in=["non_answer", "truncated"])
        assert sorted(checks.values_list("check_name", "passed")) == [
            ("non_answer", True),
            ("truncated", True),
        ]


@pytest.mark.parametrize(
    "args",
    [
        ["--technique", "self_instruct", "--count", "6"],
        ["--technique", "evol_instruct", "--count", "6"],
        ["--technique", "distillation", "--count", "8", "--query-set", SAMPLE_QUERY_SET],
        ["--technique", "backtranslation", "--count", "3"],
        ["--technique", "preference", "--count", "4"],
    ],
    ids=lambda args: args[1],
)
def test_no_non_answer_or_cut_off_text_reaches_review_from_the_demo(demo, args):
    run = generate(*args, "--sample", "1")
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    assert run.candidates.filter(status=Candidate.Status.PASSED).exists()
    assert_nothing_in_review_is_a_non_answer()


def test_the_demo_distillation_gives_real_answers_and_fails_what_it_cannot_answer(demo):
    run = generate("--technique", "distillation", "--count", "8", "--query-set", SAMPLE_QUERY_SET)
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    answers = list(run.candidates.values_list("output", flat=True))
    assert len(answers) == 8 and run.failed_calls == 0
    assert not any("sorry" in a.lower() or "no reference answer" in a.lower() for a in answers)
    assert any("I50" in a for a in answers) and any("2550 mg" in a for a in answers)

    # A question outside the knowledge base is a failed call with its reason, not a fake answer.
    mixed = import_queries(
        name="mixed",
        content="Which ICD-10-CM category codes asthma?\nWrite a haiku about the heart.",
        format="lines",
    )
    run = generate("--technique", "distillation", "--count", "2", "--query-set", mixed.name)
    assert run.candidates.count() == 1 and run.failed_calls == 1
    failed = TeacherCall.objects.get(run=run, status=TeacherCall.Status.FAILED)
    assert failed.reason == "no_answer" and "knowledge base" in failed.message
    assert "haiku" in run.stop_reason or "one answer each" in run.stop_reason


def test_a_cut_off_document_is_filtered_as_truncated(demo, client, django_capture_on_commit_callbacks):
    client.force_login(get_user_model().objects.get(username="admin"))
    text = (
        "Diabetic ketoacidosis (E10) needs careful first steps. Confirm glucose, ketones and acidosis, start "
        "isotonic fluids, and once potassium is known give a fixed-rate insulin infusion at."
    )
    r = client.post(reverse("synth:documents"), {"title": "Cut off", "text": text})
    assert r.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("synth:run_new"),
            {
                "teacher": Teacher.objects.get(name="offline").pk,
                "technique": "backtranslation",
                "requested_count": 10,
                "sample_percent": 100,
                "min_score": 1,  # the self-curation rubric alone would keep it
            },
        )
    run = GenerationRun.objects.get()
    cut = run.candidates.get(provenance__document__title="Cut off")
    assert (cut.status, cut.filter_reason) == (Candidate.Status.FILTERED, "truncated")
    assert QualityResult.objects.get(candidate=cut, check_name="truncated").evidence["field"] == "output"
    assert not ReviewItem.objects.filter(candidate=cut).exists()
    assert_nothing_in_review_is_a_non_answer()


def test_a_backtranslation_run_that_ends_short_says_why_on_its_page(
    demo, client, django_capture_on_commit_callbacks
):
    client.force_login(get_user_model().objects.get(username="admin"))
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            reverse("synth:run_new"),
            {
                "teacher": Teacher.objects.get(name="offline").pk,
                "technique": "backtranslation",
                "requested_count": 10,
                "sample_percent": 100,
            },
        )
    run = GenerationRun.objects.get()
    assert run.status == GenerationRun.Status.COMPLETED and run.generated_count == 3
    page = client.get(r.url)
    assert "Made 3 of the 10 asked for: 3 documents, one instruction each" in page.text


def test_a_distillation_run_names_its_unanswered_questions_on_its_page(
    demo, client, django_capture_on_commit_callbacks
):
    client.force_login(get_user_model().objects.get(username="admin"))
    r = client.post(
        reverse("synth:query_sets"),
        {
            "name": "mixed",
            "typed": "Which ICD-10-CM category codes heart failure?\nWrite a haiku about the heart.",
        },
    )
    assert r.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            reverse("synth:run_new"),
            {
                "teacher": Teacher.objects.get(name="offline").pk,
                "technique": "distillation",
                "requested_count": 2,
                "sample_percent": 100,
                "query_set": QuerySet.objects.get(name="mixed").pk,
            },
        )
    page = " ".join(client.get(r.url).content.decode().split())
    assert "Made 1 of the 2 asked for" in page
    # The run page counts failed calls by reason, each linking to the calls themselves.
    assert "Failed teacher calls (1):" in page
    assert (
        'data-testid="reason-failed-no_answer">No answer (the offline teacher answers only what its knowledge base holds) (1)'
        in page
    )
    run = GenerationRun.objects.get()
    [item] = ReviewItem.objects.filter(candidate__run=run)
    assert "I50" in item.candidate.output


def test_a_real_teachers_refusal_is_filtered_as_a_non_answer(demo, settings):
    """The gate applies to every teacher: an OpenAI-compatible server that apologises instead of
    answering leaves filtered records with the reason, not items for physicians."""
    server = ScriptedServer()
    server.responder = lambda request: Reply(
        openai_reply(json.dumps({"output": "I'm sorry, but I can't help with that request."}))
    )
    server.start()
    try:
        settings.TEACHER_API_KEYS = {"LOOPBACK_API_KEY": "sk-loopback-0123456789"}
        teacher = Teacher.objects.create(
            name="loopback",
            provider="openai",
            model="test-model",
            base_url=f"{server.url}/v1",
            api_key_env="LOOPBACK_API_KEY",
        )
        run = launch_run(
            teacher=teacher,
            technique="distillation",
            requested_count=3,
            sample_rate=1.0,
            options={"query_set": QuerySet.objects.get(name=SAMPLE_QUERY_SET).pk},
            enqueue=False,
        )
        execute_run(run.pk)
    finally:
        server.stop()
    run.refresh_from_db()
    assert run.candidates.count() == 3
    for candidate in run.candidates.all():
        assert (candidate.status, candidate.filter_reason) == (Candidate.Status.FILTERED, "non_answer")
        result = QualityResult.objects.get(candidate=candidate, check_name="non_answer")
        assert result.evidence["rule"] == "refusal" and result.evidence["field"] == "output"
    assert not ReviewItem.objects.filter(candidate__run=run).exists()


def test_a_cut_off_backtranslated_instruction_is_filtered_although_self_curation_kept_it(demo, settings):
    """The instruction a teacher writes for a document is checked too: here a server's instruction
    stops mid-phrase and its own self-curation scores it 5; the gate filters it as truncated."""

    def respond(request):
        schema = request.body["response_format"]["json_schema"]["name"]
        data = {
            "instruction": {"instruction": "Describe the first steps of a fixed-rate insulin infusion at."},
            "curation": {"score": 5, "reason": "Focused and complete."},
        }[schema]
        return Reply(openai_reply(json.dumps(data)))

    server = ScriptedServer()
    server.responder = respond
    server.start()
    try:
        settings.TEACHER_API_KEYS = {"LOOPBACK_API_KEY": "sk-loopback-0123456789"}
        teacher = Teacher.objects.create(
            name="loopback",
            provider="openai",
            model="test-model",
            base_url=f"{server.url}/v1",
            api_key_env="LOOPBACK_API_KEY",
        )
        run = launch_run(
            teacher=teacher, technique="backtranslation", requested_count=3, sample_rate=1.0, enqueue=False
        )
        execute_run(run.pk)
    finally:
        server.stop()
    run.refresh_from_db()
    assert run.candidates.count() == 3
    for candidate in run.candidates.all():
        assert candidate.provenance["self_curation"]["score"] == 5
        assert (candidate.status, candidate.filter_reason) == (Candidate.Status.FILTERED, "truncated")
        evidence = QualityResult.objects.get(candidate=candidate, check_name="truncated").evidence
        assert evidence == {"field": "instruction", "rule": "dangling_word", "text": candidate.instruction}
    assert not ReviewItem.objects.filter(candidate__run=run).exists()
