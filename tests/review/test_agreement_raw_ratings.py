"""Krippendorff's alpha from raw ratings equals the 2011 paper's definition, computed here in exact fractions.

The definition below loops over units and pairs of ratings as the paper does, in Fractions, so it is
slow and exact; krippendorff_alpha builds the same coincidences with numpy. They must agree to 1e-12 on
the paper's example and on random data at every level of measurement, whichever way the ratings come
(a numpy array with NaN, lists with None or pandas' NA) and however sparse they are.
"""

from collections import Counter
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from review.agreement import LEVELS, krippendorff_alpha

N = None
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]
# The paper's figures, which the krippendorff package (0.9) also gives for this example.
PUBLISHED = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}


def alpha_by_definition(ratings: list[list[int | None]], level: str) -> Fraction:
    """Alpha as Krippendorff (2011) defines it: 1 - (n - 1) * sum(o_ck * delta_ck) / sum(n_c * n_k * delta_ck)."""
    units = [[v for v in unit if v is not None] for unit in zip(*ratings, strict=True)]
    coincidences: Counter = Counter()
    for unit in units:
        if len(unit) < 2:
            continue  # a lone rating has nothing to be compared with
        for i, c in enumerate(unit):
            for j, k in enumerate(unit):
                if i != j:
                    coincidences[c, k] += Fraction(1, len(unit) - 1)
    values = sorted({c for c, _ in coincidences})
    n_c = {c: sum(coincidences[c, k] for k in values) for c in values}
    n = sum(n_c.values())

    def delta(c: int, k: int) -> Fraction:
        if level == "nominal":
            return Fraction(c != k)
        if level == "interval":
            return Fraction(c - k) ** 2
        if level == "ratio":
            return Fraction(c - k, c + k) ** 2 if c + k else Fraction(0)
        low, high = min(c, k), max(c, k)
        return (sum(n_c[g] for g in values if low <= g <= high) - (n_c[low] + n_c[high]) / 2) ** 2

    observed = sum(coincidences[c, k] * delta(c, k) for c in values for k in values)
    expected = sum(n_c[c] * n_c[k] * delta(c, k) for c in values for k in values)
    return 1 - (n - 1) * observed / expected


def random_ratings(seed: int, *, raters: int, units: int, values: int, per_unit: int | None = None):
    """Raters x units integer ratings from 0 to values - 1, agreeing more often than chance, None where missing.

    With `per_unit`, each unit is rated by that many raters at most (crowd data: many raters, few per unit);
    otherwise about a quarter of the ratings are missing.
    """
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, values, size=units)
    noise = rng.integers(0, values, size=(raters, units))
    given = np.where(rng.random((raters, units)) < 0.6, truth, noise)
    if per_unit is None:
        present = rng.random((raters, units)) >= 0.25
    else:
        present = np.zeros((raters, units), dtype=bool)
        for u in range(units):
            present[rng.choice(raters, size=rng.integers(1, per_unit + 1), replace=False), u] = True
    return [
        [int(v) if p else None for v, p in zip(row, mask, strict=True)]
        for row, mask in zip(given, present, strict=True)
    ]


def as_array(ratings):
    return np.array([[np.nan if v is None else v for v in row] for row in ratings], dtype=float)


@pytest.mark.parametrize("level", LEVELS)
def test_the_definition_gives_the_papers_figures(level):
    assert float(alpha_by_definition(KRIPPENDORFF_2011, level)) == pytest.approx(PUBLISHED[level], abs=5e-4)


@pytest.mark.parametrize("level", LEVELS)
def test_it_equals_the_definition_on_the_papers_example(level):
    exact = float(alpha_by_definition(KRIPPENDORFF_2011, level))
    assert krippendorff_alpha(KRIPPENDORFF_2011, level) == pytest.approx(exact, abs=1e-12)
    assert krippendorff_alpha(as_array(KRIPPENDORFF_2011), level) == pytest.approx(exact, abs=1e-12)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize(
    "shape",
    [
        {"raters": 3, "units": 200, "values": 5},
        {"raters": 5, "units": 120, "values": 40},  # more values than a few: looked up by binary search
        {"raters": 12, "units": 150, "values": 4, "per_unit": 3},  # many raters, three at most per unit
        {"raters": 2, "units": 60, "values": 3},
    ],
    ids=["three-raters", "forty-values", "crowd", "two-raters"],
)
def test_it_equals_the_definition_on_random_ratings(level, shape):
    ratings = random_ratings(sum(map(ord, level)) + shape["raters"], **shape)
    exact = float(alpha_by_definition(ratings, level))
    assert krippendorff_alpha(as_array(ratings), level) == pytest.approx(exact, abs=1e-12)
    assert krippendorff_alpha(ratings, level) == pytest.approx(exact, abs=1e-12)


@pytest.mark.parametrize("level", LEVELS)
def test_every_form_of_the_same_ratings_gives_the_same_alpha(level):
    ratings = random_ratings(3, raters=4, units=80, values=5)
    from_array = krippendorff_alpha(as_array(ratings), level)
    with_na = [[pd.NA if v is None else v for v in row] for row in ratings]
    with_nan = as_array(ratings).tolist()
    assert krippendorff_alpha(with_na, level) == pytest.approx(from_array, abs=1e-12)
    assert krippendorff_alpha(with_nan, level) == pytest.approx(from_array, abs=1e-12)
    complete = np.random.default_rng(4).integers(0, 5, size=(3, 50))
    as_objects = complete.astype(object)
    assert krippendorff_alpha(complete, level) == pytest.approx(
        krippendorff_alpha(as_objects, level), abs=1e-12
    )


def test_labels_in_an_array_of_text_are_compared_as_labels():
    labels = np.array([["accept", "reject", "edit", "accept"], ["accept", "reject", "accept", "accept"]])
    as_numbers = [[0, 2, 1, 0], [0, 2, 0, 0]]
    assert krippendorff_alpha(labels) == pytest.approx(krippendorff_alpha(as_numbers), abs=1e-12)


def test_integer_labels_beyond_float_precision_stay_apart():
    # numpy would turn this list into floats, where 2**53 + 1 becomes 2**53: the two raters do disagree.
    big = 2**53
    ratings = [[big + 1, big, 1.5, 1.5], [big, big + 1, 1.5, 1.5]]
    assert krippendorff_alpha(ratings) < 1.0
    assert krippendorff_alpha(np.array(ratings, dtype=object)) == krippendorff_alpha(ratings)


def test_the_ratio_level_refuses_negative_values_in_an_array_too():
    with pytest.raises(ValueError, match="zero or more"):
        krippendorff_alpha(np.array([[1.0, -2.0, np.nan], [1.0, 2.0, 3.0]]), level="ratio")


def test_without_a_pairable_unit_alpha_is_undefined():
    assert np.isnan(krippendorff_alpha(np.array([[1.0, np.nan], [np.nan, 2.0]])))
    assert np.isnan(krippendorff_alpha(np.array([[1, 2, 3]]), level="interval"))
