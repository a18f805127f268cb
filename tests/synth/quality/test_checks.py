"""The checks' interface: each registers itself by name, the gate runs them in order, one file adds one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import synth.quality.checks
from synth.models import QualityResult
from synth.quality.checks import CHECKS, Check, ordered_checks
from synth.quality.diversity import funnel_labels
from synth.quality.flags import flag_titles, flags_for
from synth.quality.gate import apply_gate
from synth.quality.verdict import Verdict

CHECKS_FOLDER = Path(synth.quality.checks.__file__).parent


@pytest.fixture
def registry():
    """The registry as it was, put back after a test that defines checks of its own."""
    before = dict(CHECKS)
    yield CHECKS
    CHECKS.clear()
    CHECKS.update(before)


def in_order(names, expected):
    """Whether the expected names come in this order among the names (a new check may come between)."""
    return [name for name in names if name in expected] == expected


def test_it_runs_the_checks_in_their_order():
    names = [check.name for check in ordered_checks()]
    assert in_order(
        names,
        [
            "non_answer",
            "truncated",
            "exact_duplicate",
            "near_duplicate",
            "phi",
            "icd_codes",
            "drugs",
            "facts",
            "novelty",
            "domain",
        ],
    )


def test_it_shows_flags_and_funnel_rows_in_their_order():
    flags = [
        "phi",
        "icd_codes",
        "drugs",
        "facts",
        "near_duplicate",
        "exact_duplicate",
        "non_answer",
        "truncated",
    ]
    assert in_order(flag_titles(), flags)
    assert flag_titles()["phi"] == "Possible PHI"
    funnel = [
        "non_answer",
        "truncated",
        "exact_duplicate",
        "near_duplicate",
        "phi",
        "icd_codes",
        "drugs",
        "facts",
    ]
    assert in_order(funnel_labels(), funnel)
    assert not {"novelty", "domain"} & set(funnel_labels())
    assert funnel_labels()["non_answer"] == "Non-answers (refusals, placeholders, empty)"


def test_it_keeps_one_check_per_module():
    modules = {cls.__module__.rsplit(".", 1)[-1]: cls.name for cls in CHECKS.values()}
    assert modules == {name: name for name in CHECKS}
    files = {path.stem for path in CHECKS_FOLDER.glob("*.py")} - {"__init__", "base"}
    assert files == set(CHECKS)


def test_it_gates_a_new_check_without_any_list_naming_it(registry, make_candidate):
    class LengthCheck(Check):
        name = "length_test"
        order = 85
        flag_title = "Length"
        flag_order = 45
        funnel_label = "Too long"

        def verdict(self, candidate):
            return Verdict(self.name, True, "long", flagged=True, hold_back=len(candidate.output) > 20)

    candidate = apply_gate(
        make_candidate("What is the dose of metformin?", "A reply well over twenty letters.")
    )

    assert QualityResult.objects.get(candidate=candidate, check_name="length_test").flagged
    assert candidate.held_back
    assert "length_test" in funnel_labels()
    assert [f.check_name for f in flags_for(candidate=candidate)["flags"]] == ["length_test"]


def test_its_first_failure_in_order_names_the_reason(registry, make_candidate):
    class EarlyCheck(Check):
        name = "early_test"
        order = 5

        def verdict(self, candidate):
            return Verdict(self.name, False, "always")

    candidate = apply_gate(make_candidate("Sorry, I cannot help with that.", "N/A"))

    assert candidate.filter_reason == "early_test"


def test_a_check_that_does_not_apply_leaves_no_result(registry, make_candidate):
    class PairsOnlyCheck(Check):
        name = "pairs_only_test"
        order = 95

        def applies_to(self, candidate):
            return candidate.is_pair

        def verdict(self, candidate):
            return Verdict(self.name, False, "not for tasks")

    candidate = make_candidate("What is the maximum daily dose of metformin?", "2550 mg a day.")
    QualityResult.objects.create(candidate=candidate, check_name="pairs_only_test", passed=False)

    apply_gate(candidate)

    assert not QualityResult.objects.filter(candidate=candidate, check_name="pairs_only_test").exists()
    assert candidate.filter_reason != "pairs_only_test"


def test_it_refuses_two_checks_of_one_name(registry):
    with pytest.raises(ValueError, match="named 'phi'"):

        class AnotherPhiCheck(Check):
            name = "phi"
            order = 999


def test_it_refuses_two_checks_at_one_order(registry):
    with pytest.raises(ValueError, match="same order"):

        class SameOrderCheck(Check):
            name = "same_order_test"
            order = 50


def test_a_shared_base_without_a_name_is_not_a_check(registry):
    class SharedBase(Check):
        order = 1000

    assert SharedBase not in CHECKS.values()


def test_no_check_module_imports_a_private_name():
    for path in [*CHECKS_FOLDER.glob("*.py"), *CHECKS_FOLDER.parent.glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                private = [a.name for a in node.names if a.name.startswith("_") and a.name != "annotations"]
                assert not private, f"{path.name} imports {private} from {node.module}"
