"""Each technique's paper rules on crafted inputs, and each technique end to end with the offline teacher."""

import pytest

from synth.generation import launch_run
from synth.models import (
    Candidate,
    Domain,
    GenerationRun,
    QualityResult,
    Query,
    QuerySet,
    SourceDocument,
    TeacherCall,
)
from synth.techniques.backtranslation import curation_verdict
from synth.techniques.documents import add_document
from synth.techniques.evol_instruct import elimination_reason
from synth.techniques.preference import ranked
from synth.techniques.queries import QueryImportError, import_queries


@pytest.fixture
def run_now(django_capture_on_commit_callbacks):
    def run_now(teacher, technique, count, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            run = launch_run(
                teacher=teacher, technique=technique, requested_count=count, sample_rate=0.0, **extra
            )
        run.refresh_from_db()
        return run

    return run_now


# Evol-Instruct ------------------------------------------------------------------------------------

PARENT = "Which ICD-10-CM category codes essential (primary) hypertension?"


def test_evol_instruct_eliminates_an_evolution_without_information_gain():
    assert (
        elimination_reason(PARENT, PARENT + " Please.", "I10 codes essential hypertension.")[0]
        == "no_information_gain"
    )
    assert (
        elimination_reason(
            PARENT, "Which ICD-10-CM category codes the essential (primary) hypertension?", "I10."
        )[0]
        == "no_information_gain"
    )


def test_evol_instruct_eliminates_a_refusal_and_an_empty_answer():
    child = PARENT + " Explain the coding rule for a patient with chronic kidney disease."
    assert elimination_reason(PARENT, child, "Sorry, I cannot answer that.")[0] == "response_is_refusal"
    assert elimination_reason(PARENT, child, "... the, of and !")[0] == "response_is_empty"


def test_evol_instruct_eliminates_copied_scaffold_words():
    child = "#Rewritten Prompt#: which category codes hypertensive heart disease with heart failure?"
    assert (
        elimination_reason(PARENT, child, "I11.0, with a code for the type of heart failure.")[0]
        == "copied_scaffold"
    )


def test_evol_instruct_keeps_a_real_evolution():
    child = PARENT + " Then say which code is added when chronic kidney disease is also documented."
    assert (
        elimination_reason(PARENT, child, "I10; with chronic kidney disease use I12 instead, plus N18.")
        is None
    )


def test_evol_instruct_records_lineage_and_depth(run_now, demo_config):
    cardiology = Domain.objects.get(slug="cardiology")
    assert run_now(demo_config, "self_instruct", 6, domains=[cardiology]).status == "completed"
    run = run_now(demo_config, "evol_instruct", 6, domains=[cardiology], options={"rounds": 3})
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    assert run.candidates.count() == 6
    for candidate in run.candidates.all():
        evolution = candidate.provenance["evolution"]
        lineage = evolution["lineage"]
        assert evolution["depth"] == len(lineage) - 1 >= 1
        assert lineage[0]["operation"] == "root" and lineage[-1]["instruction"] == candidate.instruction
        assert evolution["operation"] in {
            "add_constraints",
            "deepen",
            "concretize",
            "increase_reasoning",
            "complicate_input",
            "in_breadth",
        }
        assert "Sorry" not in candidate.output
    assert run.candidates.filter(provenance__evolution__depth__gte=2).exists()


# Distillation -------------------------------------------------------------------------------------


def test_queries_import_from_jsonl_with_their_lines(db, demo_config):
    content = '{"query": "What is the first-line drug for anaphylaxis?", "domain": "respiratory"}\n\n{"instruction": "Define sepsis.", "input": "Adult"}\n'
    query_set = import_queries(name="ED questions", content=content, format="jsonl")
    rows = list(query_set.queries.values_list("line", "text", "input", "domain__slug"))
    assert rows == [
        (1, "What is the first-line drug for anaphylaxis?", "", "respiratory"),
        (3, "Define sepsis.", "Adult", None),
    ]


def test_a_bad_query_file_is_refused_whole_with_every_line_to_fix(db, demo_config):
    content = (
        '{"query": "Fine."}\n{"query": ""}\nnot json\n["a list"]\n{"query": "X", "domain": "astrology"}\n'
    )
    queries_before = Query.objects.count()  # (the demo's sample query set)
    with pytest.raises(QueryImportError) as error:
        import_queries(name="broken", content=content, format="jsonl")
    problems = error.value.problems
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 3", "line 4", "line 5"]
    assert "astrology" in problems[-1]
    assert not QuerySet.objects.filter(name="broken").exists() and Query.objects.count() == queries_before


def test_queries_import_from_csv_and_typed_lines(db, demo_config):
    csv_set = import_queries(
        name="csv", content="question,input\nDefine shock.,\n,\nName two beta blockers.,adult\n", format="csv"
    )
    assert list(csv_set.queries.values_list("line", "text")) == [
        (2, "Define shock."),
        (4, "Name two beta blockers."),
    ]
    with pytest.raises(QueryImportError, match="line 1: the header"):
        import_queries(name="csv2", content="prompt\nx\n", format="csv")
    typed = import_queries(name="typed", content="One?\n\nTwo?\n", format="lines")
    assert list(typed.queries.values_list("text", flat=True)) == ["One?", "Two?"]
    with pytest.raises(QueryImportError, match="already exists"):
        import_queries(name="typed", content="Three?", format="lines")


def test_distillation_answers_each_query_once_in_order(run_now, demo_config, settings):
    settings.GENERATION_CHUNK_SIZE = 3  # several chunks share the set without overlapping
    lines = "\n".join(
        f"In which ICD-10-CM block and chapter is {name} ({code}) classified?"
        for code, name in [
            ("I10", "Essential (primary) hypertension"),
            ("J45", "Asthma"),
            ("E11", "Type 2 diabetes mellitus"),
            ("A40", "Streptococcal sepsis"),
            ("I21", "Acute myocardial infarction"),
        ]
    )
    query_set = import_queries(name="coding", content=lines, format="lines")
    run = run_now(demo_config, "distillation", 5, options={"query_set": query_set.pk})
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    assert run.chunks.count() == 2
    got = list(run.candidates.order_by("sequence").values_list("instruction", "provenance__query__line"))
    assert got == [(q.text, q.line) for q in query_set.queries.order_by("line")]
    assert "I10" in run.candidates.get(sequence=1).output


def test_distillation_without_a_query_set_is_refused(db, demo_config):
    from synth.generation import GenerationError

    with pytest.raises(GenerationError, match="query set"):
        launch_run(teacher=demo_config, technique="distillation", requested_count=2, sample_rate=0)


# Backtranslation ----------------------------------------------------------------------------------

GOOD = (
    "Essential (primary) hypertension (I10) is coded when raised blood pressure has no identified "
    "secondary cause. Confirm the diagnosis on repeated readings or ambulatory monitoring, look for "
    "target organ damage, and use the combination categories when heart or kidney disease is present."
)


def test_a_document_with_phi_is_held_back_with_its_findings(db, demo_config):
    document = add_document(title="Note", text="Seen by Dr. Alice Smith on 03/14/2024, MRN 483920. " + GOOD)
    assert document.held_back
    assert {"kind", "start", "end", "text"} <= set(document.phi_findings[0])
    clean = add_document(title="Clean", text=GOOD)
    assert not clean.held_back and clean.phi_findings == []


def test_self_curation_keeps_scores_at_or_above_the_threshold():
    assert curation_verdict(5, 4) == (5, True)
    assert curation_verdict(4, 4) == (4, True)
    assert curation_verdict(3, 4) == (3, False)
    assert curation_verdict(9, 4) == (None, False)
    assert curation_verdict("five", 4) == (None, False)


def test_backtranslation_filters_low_scores_with_their_reason(run_now, demo_config):
    add_document(title="Good", text=GOOD)
    add_document(title="Too short", text="Hypertension: check it.")
    add_document(title="Held back", text="Call John Smith at 555-123-4567 about his I10 results. " + GOOD)
    demo_documents = SourceDocument.objects.filter(created_by=None).exclude(
        title__in=["Good", "Too short", "Held back"]
    )
    demo_documents.delete()  # this test's documents only (seed_demo adds three)
    run = run_now(demo_config, "backtranslation", 3)
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    assert run.candidates.count() == 2  # the held-back document was never sent
    assert run.stop_reason.startswith("2 documents, one instruction each (1 more held back for PHI")
    kept = run.candidates.get(provenance__document__title="Good")
    assert kept.status == Candidate.Status.PASSED and kept.output == GOOD
    assert "I10" in kept.instruction and kept.provenance["self_curation"]["score"] == 5
    low = run.candidates.get(provenance__document__title="Too short")
    assert (low.status, low.filter_reason) == (Candidate.Status.FILTERED, "self_curation")
    result = QualityResult.objects.get(candidate=low, check_name="self_curation")
    assert not result.passed and result.score < 4 and "below 4" in result.reason
    sent = " ".join(str(call.request) for call in TeacherCall.objects.filter(run=run))
    assert "John Smith" not in sent and SourceDocument.objects.get(title="Held back").held_back


# Preference pairs ---------------------------------------------------------------------------------


def test_the_judges_letter_picks_the_chosen_response_undoing_the_swap():
    assert ranked("first", "second", swapped=False, preferred="A") == ("first", "second")
    assert ranked("first", "second", swapped=False, preferred="B") == ("second", "first")
    assert ranked("first", "second", swapped=True, preferred="A") == ("second", "first")
    assert ranked("first", "second", swapped=True, preferred="B") == ("first", "second")
    assert ranked("first", "second", swapped=False, preferred="C") is None


@pytest.mark.parametrize("contrast", ["temperature", "flawed"])
def test_preference_pairs_store_the_judges_choice_as_output(run_now, demo_config, contrast):
    cardiology = Domain.objects.get(slug="cardiology")
    assert run_now(demo_config, "self_instruct", 6, domains=[cardiology]).status == "completed"
    run = run_now(demo_config, "preference", 4, domains=[cardiology], options={"contrast": contrast})
    assert run.status == GenerationRun.Status.COMPLETED, run.error
    assert run.candidates.count() == 4
    for pair in run.candidates.all():
        assert pair.is_pair and pair.output != pair.rejected_output
        judge = pair.provenance["judge"]
        calls = pair.provenance["calls"]
        assert pair.output == calls[judge["preferred"]]["reply"].split('"output": "')[1].rsplit('"', 1)[0]
        if contrast == "flawed":
            assert judge["preferred"] == "first"  # the judge caught the wrong code
        else:
            assert calls["first"]["temperature"] == 0.2 and calls["second"]["temperature"] == 1.0


def test_preference_pairs_against_another_teacher_need_its_name(db, demo_config):
    from synth.generation import GenerationError

    with pytest.raises(GenerationError, match="other_teacher"):
        launch_run(
            teacher=demo_config,
            technique="preference",
            requested_count=2,
            sample_rate=0,
            options={"contrast": "teacher"},
        )
