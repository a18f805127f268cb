"""Agreement on ratings as data frames hold them: labels compared by value, pandas' missing values."""

import math

import numpy as np
import pandas as pd
import pytest

from review.agreement import cohen_kappa, krippendorff_alpha, percent_agreement


def test_it_compares_labels_by_value_as_python_does():
    # A column holding a NaN comes back from pandas as floats: 1.0 is still the label 1.
    assert cohen_kappa([1, 2, 1, 2], [1.0, 2.0, 1.0, 2.0]) == 1.0
    assert cohen_kappa([1, 2, 1, 2], list(np.array([1, 2, 1, 2], dtype=np.int64))) == 1.0
    assert percent_agreement([[1, 1.0], [2, np.float64(2.0)]]) == 1.0
    assert krippendorff_alpha([[1, 2, 1, 2], [1.0, 2.0, 1.0, 2.0]]) == pytest.approx(1.0)


def test_it_reads_a_data_frame_with_missing_ratings():
    frame = pd.DataFrame({"a": [1, 2, None, 2, 1], "b": [1, 2, 1, None, 1]})
    assert frame["a"].dtype == float  # what pandas does to a column with a gap
    assert cohen_kappa(frame["a"].tolist(), frame["b"].tolist()) == 1.0
    nullable = frame.astype("Int64")  # pandas' nullable integers hold pd.NA
    assert cohen_kappa(list(nullable["a"]), list(nullable["b"])) == 1.0
    assert krippendorff_alpha([list(nullable["a"]), list(nullable["b"])]) == pytest.approx(1.0)


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, pd.NA, pd.NaT, np.datetime64("NaT", "D")])
def test_every_kind_of_missing_value_is_left_out(missing):
    assert percent_agreement([["x", "x", missing], [missing, "y"]]) == 1.0
    assert cohen_kappa(["x", "y", missing], ["x", "y", "x"]) == 1.0


def test_it_refuses_a_mix_of_numbers_and_text_instead_of_merging_them():
    with pytest.raises(ValueError, match=r"mix numbers .* and text"):
        cohen_kappa([1, 2], ["1", "2"])
    with pytest.raises(ValueError, match="convert the column to one type"):
        percent_agreement([[1, "1"]])
    with pytest.raises(ValueError, match="mix numbers"):
        krippendorff_alpha([[1, 2], ["1", "2"]])


def test_the_ratio_level_refuses_negative_values_instead_of_returning_nan():
    with pytest.raises(ValueError, match="zero or more"):
        krippendorff_alpha([[1, -2, 3], [1, 2, 3]], level="ratio")
    assert not math.isnan(krippendorff_alpha([[1, 2, 3], [1, 2, 4]], level="ratio"))
