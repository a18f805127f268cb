"""The agreement functions reproduce the worked examples of the papers and textbooks that define them."""

import math

import numpy as np
import pytest

from review.agreement import (
    bootstrap_alpha_ci,
    bootstrap_ci,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    percent_agreement,
)


def labels_from_table(table, categories):
    """Two raters' label sequences from a confusion table (rows rater A, columns rater B)."""
    a, b = [], []
    for i, row in enumerate(table):
        for j, n in enumerate(row):
            a += [categories[i]] * n
            b += [categories[j]] * n
    return a, b


def test_cohen_kappa_of_the_textbook_yes_no_example():
    # 50 grant proposals read by two readers: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no.
    # p_o = 0.70, p_e = 0.50, kappa = 0.40 (the standard textbook example, e.g. Wikipedia's).
    a, b = labels_from_table([[20, 5], [10, 15]], ["yes", "no"])
    assert cohen_kappa(a, b) == pytest.approx(0.40)
    assert percent_agreement(list(zip(a, b, strict=True))) == pytest.approx(0.70)


@pytest.mark.parametrize(
    ("table", "kappa"),
    [
        # Same observed agreement (0.60), different margins: the "paradox" examples.
        ([[45, 15], [25, 15]], 0.1304),
        ([[25, 35], [5, 35]], 0.2593),
        # SAS's unweighted kappa example for a 3 x 3 table: 0.4842.
        ([[0, 4, 1], [0, 8, 0], [0, 1, 5]], 0.4842),
    ],
)
def test_cohen_kappa_matches_published_tables(table, kappa):
    categories = ["a", "b", "c"][: len(table)]
    a, b = labels_from_table(table, categories)
    assert cohen_kappa(a, b) == pytest.approx(kappa, abs=5e-5)


def test_cohen_kappa_needs_one_label_per_unit_from_each_rater():
    with pytest.raises(ValueError, match="one label per unit"):
        cohen_kappa(["a", "b"], ["a"])


def test_cohen_kappa_is_undefined_when_both_raters_use_one_label():
    assert math.isnan(cohen_kappa(["a", "a"], ["a", "a"]))


# Fleiss (1971), Table 1: 30 patients, 6 psychiatrists each, 5 diagnoses
# (depression, personality disorder, schizophrenia, neurosis, other); one row of six diagnoses per
# patient, as R's irr package ships it (`diagnoses`).
FLEISS_1971 = [
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5], [2, 2, 2, 4, 4, 4],
    [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4], [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5],
    [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4], [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5],
    [3, 3, 3, 3, 3, 5], [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4], [1, 4, 4, 4, 4, 5],
    [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4], [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
]  # fmt: skip


def test_fleiss_kappa_of_fleiss_1971_psychiatric_diagnoses():
    counts = np.array([[row.count(c) for c in range(1, 6)] for row in FLEISS_1971])
    assert counts.shape == (30, 5) and (counts.sum(axis=1) == 6).all()
    assert counts.sum(axis=0).tolist() == [26, 26, 30, 55, 43]  # the table's column totals
    assert fleiss_kappa(counts) == pytest.approx(0.430, abs=5e-4)
    assert fleiss_kappa(counts) == pytest.approx(0.4302445, abs=1e-7)  # R irr::kappam.fleiss


def test_fleiss_kappa_of_the_ten_subject_fourteen_rater_example():
    # The 10 subjects x 5 categories, 14 raters example (Wikipedia "Fleiss' kappa"): kappa = 0.210.
    counts = [
        [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
    ]  # fmt: skip
    assert fleiss_kappa(counts) == pytest.approx(0.210, abs=5e-4)


def test_fleiss_kappa_refuses_unequal_numbers_of_raters():
    with pytest.raises(ValueError, match="same number of ratings"):
        fleiss_kappa([[2, 0], [1, 2]])


# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C: four observers, twelve
# units, values 1-5, with missing data (unit 12 has a single value and so is not pairable).
N = None
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]


@pytest.mark.parametrize(
    ("level", "alpha"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)]
)
def test_krippendorff_alpha_of_the_2011_worked_example(level, alpha):
    assert krippendorff_alpha(KRIPPENDORFF_2011, level=level) == pytest.approx(alpha, abs=5e-4)


def test_krippendorff_alpha_reads_nan_as_missing_and_labels_as_nominal():
    with_nan = [[np.nan if v is None else v for v in row] for row in KRIPPENDORFF_2011]
    assert krippendorff_alpha(np.array(with_nan, dtype=float)) == pytest.approx(0.743, abs=5e-4)
    names = {1: "a", 2: "b", 3: "c", 4: "d", 5: "e"}
    as_labels = [[names.get(v) for v in row] for row in KRIPPENDORFF_2011]
    assert krippendorff_alpha(as_labels) == pytest.approx(0.743, abs=5e-4)


def test_krippendorff_alpha_of_the_2011_two_observer_binary_example():
    # Krippendorff (2011), example A: two observers, ten units, binary data: alpha = 0.095.
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert krippendorff_alpha([a, b]) == pytest.approx(0.095, abs=5e-4)


def test_krippendorff_alpha_refuses_an_unknown_level_and_text_for_numbers():
    with pytest.raises(ValueError, match="Unknown level"):
        krippendorff_alpha(KRIPPENDORFF_2011, level="cardinal")
    with pytest.raises(ValueError, match="numeric"):
        krippendorff_alpha([["a", "b"], ["a", "a"]], level="interval")


def test_percent_agreement_counts_agreeing_pairs_within_units():
    # Unit 1: all three agree (3 of 3 pairs); unit 2: two of three agree (1 of 3 pairs); unit 3 has
    # a single rating and is left out.
    assert percent_agreement([["a", "a", "a"], ["a", "a", "b"], ["a", None, None]]) == pytest.approx(2 / 3)


def test_bootstrap_intervals_are_seeded_and_cover_the_estimate():
    a, b = labels_from_table([[20, 5], [10, 15]], ["yes", "no"])
    units = np.array(list(zip(a, b, strict=True)), dtype=object)

    def kappa(sample):
        return cohen_kappa(sample[:, 0].tolist(), sample[:, 1].tolist())

    low, high = bootstrap_ci(kappa, units, resamples=300, seed=7)
    assert low < 0.40 < high
    assert (low, high) == bootstrap_ci(kappa, units, resamples=300, seed=7)
    assert (low, high) != bootstrap_ci(kappa, units, resamples=300, seed=8)


def test_the_collapsed_bootstrap_for_alpha_matches_its_estimate():
    # Rows are distinct verdict patterns (approve, reject counts), weights how many items share them.
    counts = np.array([[2, 0], [0, 2], [1, 1]])
    weights = np.array([60, 25, 15])
    values = np.array(["approve", "reject"], dtype=object)
    expanded = np.repeat(counts, weights, axis=0)
    from review.agreement import alpha_from_value_counts

    alpha = alpha_from_value_counts(counts, values, weights=weights)
    assert alpha == pytest.approx(alpha_from_value_counts(expanded, values))
    low, high = bootstrap_alpha_ci(counts, values, weights, resamples=500, seed=1)
    assert low < alpha < high


@pytest.mark.parametrize("level", ["nominal", "interval", "ratio", "ordinal"])
def test_the_vectorised_bootstrap_matches_resampling_one_by_one(level):
    from review.agreement import _value_counts, alpha_from_value_counts

    counts, values = _value_counts(KRIPPENDORFF_2011, level)
    weights = np.ones(len(counts))
    low, high = bootstrap_alpha_ci(counts, values, weights, level=level, resamples=200, seed=5)
    rng = np.random.default_rng(5)
    draws = rng.multinomial(len(counts), weights / weights.sum(), size=200)
    one_by_one = [alpha_from_value_counts(counts, values, level, weights=d) for d in draws]
    expected = np.percentile([e for e in one_by_one if not math.isnan(e)], [2.5, 97.5])
    assert (low, high) == pytest.approx(tuple(expected))
