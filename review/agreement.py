"""Inter-rater agreement statistics (numpy only): percent agreement, Cohen, Fleiss, Krippendorff, bootstrap.

Each function follows the paper that defines it; the tests reproduce those papers' worked examples.
Where a statistic is undefined (no pairable ratings, no variation to disagree on) it returns NaN rather
than a number that would look like evidence.
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

LEVELS = ("nominal", "ordinal", "interval", "ratio")


def _is_missing(value: Any) -> bool:
    """None, NaN, NaT, and pandas' NA: what a data frame column holds where a rating is missing."""
    if value is None:
        return True
    if isinstance(value, str | bytes):
        return False
    try:
        return bool(value != value)  # NaN and NaT are the only values unequal to themselves
    except TypeError:
        # pandas.NA: its comparisons answer NA, which refuses to be true or false.
        if type(value).__name__ == "NAType":
            return True
        raise


def _labels(values: Iterable[Any]) -> list[Any]:
    """The distinct labels, compared by value as Python (and scikit-learn) do: 1, 1.0 and True are one.

    A mix of numbers and text ("1" and 1) is refused rather than silently merged or split.
    """
    distinct = list(dict.fromkeys(values))
    kinds = {
        "number" if isinstance(v, numbers.Number) else "text" if isinstance(v, str) else "other"
        for v in distinct
    }
    if "number" in kinds and "text" in kinds:
        numbers_seen = [v for v in distinct if isinstance(v, numbers.Number)][:2]
        text_seen = [v for v in distinct if isinstance(v, str)][:2]
        raise ValueError(
            f"The ratings mix numbers ({', '.join(map(repr, numbers_seen))}) and text "
            f"({', '.join(map(repr, text_seen))}): convert the column to one type first."
        )
    try:
        return sorted(distinct)
    except TypeError:  # labels with no order (say, tuples of mixed types): first-seen order is as good
        return distinct


def percent_agreement(ratings: Sequence[Sequence[Any]]) -> float:
    """The share of agreeing rating pairs within units (Fleiss's P-bar, with any number of raters per unit).

    `ratings` has one row per unit (item) holding the labels its raters gave; missing ratings are None
    or NaN, and rows may differ in length. Units with fewer than two ratings are left out. With two
    raters this is simply the share of units on which they agree.
    """
    shares = []
    for row in ratings:
        labels = [label for label in row if not _is_missing(label)]
        m = len(labels)
        if m < 2:
            continue
        _labels(labels)  # refuses a mix of numbers and text
        counts = np.fromiter(Counter(labels).values(), dtype=float)
        shares.append(float((counts * (counts - 1)).sum()) / (m * (m - 1)))
    return float(np.mean(shares)) if shares else float("nan")


def cohen_kappa(rater_a: Sequence[Any], rater_b: Sequence[Any]) -> float:
    """Cohen's (1960) kappa for two raters: (p_o - p_e) / (1 - p_e), p_e from each rater's own margins.

    Two equal-length sequences of labels, one per unit; a unit missing either rating is left out.
    """
    if len(rater_a) != len(rater_b):
        raise ValueError(
            f"Both raters need one label per unit: got {len(rater_a)} and {len(rater_b)} labels."
        )
    pairs = [(a, b) for a, b in zip(rater_a, rater_b, strict=True) if not (_is_missing(a) or _is_missing(b))]
    if not pairs:
        return float("nan")
    labels = _labels(label for pair in pairs for label in pair)
    index = {label: i for i, label in enumerate(labels)}
    table = np.zeros((len(labels), len(labels)))
    for a, b in pairs:
        table[index[a], index[b]] += 1
    return kappa_from_table(table)


def kappa_from_table(table: np.ndarray) -> float:
    """Cohen's kappa from a square confusion table (rows rater A, columns rater B)."""
    table = np.asarray(table, dtype=float)
    n = table.sum()
    if n == 0:
        return float("nan")
    observed = np.trace(table) / n
    expected = float((table.sum(axis=1) / n) @ (table.sum(axis=0) / n))
    if expected == 1.0:  # both raters used one and the same label throughout: nothing to correct for
        return float("nan")
    return float((observed - expected) / (1.0 - expected))


def fleiss_kappa(counts: Sequence[Sequence[int]] | np.ndarray) -> float:
    """Fleiss's (1971) kappa from a subjects x categories table of how many raters chose each category.

    Every subject must have the same number of ratings (the same number of raters, not necessarily the
    same people).
    """
    table = np.asarray(counts, dtype=float)
    if table.ndim != 2 or table.shape[0] == 0:
        raise ValueError("Give a subjects x categories table of rating counts.")
    if (table < 0).any():
        raise ValueError("Rating counts cannot be negative.")
    per_subject = table.sum(axis=1)
    n = per_subject[0]
    if not np.all(per_subject == n):
        raise ValueError(
            "Fleiss's kappa needs the same number of ratings for every subject; "
            f"these subjects have between {int(per_subject.min())} and {int(per_subject.max())}. "
            "Use krippendorff_alpha for unequal numbers of ratings."
        )
    if n < 2:
        raise ValueError("Fleiss's kappa needs at least two ratings per subject.")
    subjects = table.shape[0]
    p_i = ((table * table).sum(axis=1) - n) / (n * (n - 1))
    p_bar = p_i.mean()
    p_j = table.sum(axis=0) / (subjects * n)
    p_e = float((p_j * p_j).sum())
    if p_e == 1.0:
        return float("nan")
    return float((p_bar - p_e) / (1.0 - p_e))


def _numeric_ratings(reliability_data: Any, level: str) -> np.ndarray | None:
    """The ratings as a raters x units array of numbers (or of strings, for labels), NaN where missing.

    None when only the per-value path can read them faithfully: Python objects (None, pandas' NA,
    Decimal), a ragged list, text numpy would make of a list mixing numbers and strings, or integers a
    float array could no longer tell apart.
    """
    given_array = isinstance(reliability_data, np.ndarray)
    if given_array:
        array = reliability_data
    else:
        try:
            array = np.asarray(reliability_data)
        except (ValueError, TypeError):  # ragged rows: the per-value path names the problem
            return None
    if array.ndim != 2 or array.size == 0:
        return None
    kind = array.dtype.kind
    if kind == "U" and given_array and level == "nominal":
        return array  # an array of text labels (a list of them might have held numbers too)
    if kind not in "biuf":
        return None
    if level != "nominal":
        return array.astype(float, copy=False)
    if kind == "f" and not given_array:
        # numpy turns a list mixing ints and floats into floats: above 2**53 two int labels may merge.
        finite = np.abs(array[np.isfinite(array)])
        if finite.size and finite.max() >= 2.0**53:
            return None
    return array


def _value_codes(reliability_data: Any, level: str) -> tuple[np.ndarray, np.ndarray]:
    """(raters x units array of each rating's place in the values, from 1, 0 where missing; the sorted values)."""
    ratings = _numeric_ratings(reliability_data, level)
    if ratings is None:
        return _value_codes_per_value(reliability_data, level)
    present = ~np.isnan(ratings) if ratings.dtype.kind == "f" else None
    given = ratings if present is None else ratings[present]
    values = np.unique(given)
    if level == "ratio" and len(values) and values[0] < 0:
        raise ValueError("The ratio level needs ratings of zero or more: use the interval level for these.")
    if len(values) <= 16:  # a few values (labels, a rating scale): a comparison each beats a binary search
        places = np.ones(given.shape, dtype=np.intp)
        for value in values[1:]:
            places += given >= value
    else:
        places = np.searchsorted(values, given, side="right")
    if present is None:
        return places, values
    codes = np.zeros(ratings.shape, dtype=np.intp)
    codes[present] = places
    return codes, values


def _value_codes_per_value(reliability_data: Any, level: str) -> tuple[np.ndarray, np.ndarray]:
    """_value_codes for ratings numpy cannot hold as numbers: each value read and compared in Python."""
    rows = [list(row) for row in reliability_data]
    if not rows:
        raise ValueError("Give one row of ratings per rater.")
    width = len(rows[0])
    if any(len(row) != width for row in rows):
        raise ValueError("Every rater's row needs one entry per unit (None or NaN where missing).")
    cells = [
        (r, u, value) for r, row in enumerate(rows) for u, value in enumerate(row) if not _is_missing(value)
    ]
    if level == "nominal":
        keys = [value for _, _, value in cells]
        labels = _labels(keys)
        values = np.empty(len(labels), dtype=object)
        values[:] = labels
    else:
        try:
            keys = [float(value) for _, _, value in cells]
        except (TypeError, ValueError):
            raise ValueError(f"The {level} level needs numeric ratings.") from None
        if level == "ratio" and any(key < 0 for key in keys):
            raise ValueError(
                "The ratio level needs ratings of zero or more: use the interval level for these."
            )
        labels = sorted(set(keys))
        values = np.array(labels, dtype=float)
    index = {value: i for i, value in enumerate(labels, start=1)}
    codes = np.zeros((len(rows), width), dtype=np.intp)
    if cells:
        codes[[r for r, _, _ in cells], [u for _, u, _ in cells]] = [index[key] for key in keys]
    return codes, values


def _value_counts(reliability_data: Any, level: str) -> tuple[np.ndarray, np.ndarray]:
    """(units x values table of how many raters gave each value, the sorted values): what
    alpha_from_value_counts and bootstrap_alpha_ci take, from raters x units data."""
    codes, values = _value_codes(reliability_data, level)
    side = len(values) + 1
    cells = (np.arange(codes.shape[1]) * side + codes).ravel()
    counts = np.bincount(cells, minlength=codes.shape[1] * side).reshape(codes.shape[1], side)
    return counts[:, 1:].astype(float), values


def _coincidences(codes: np.ndarray, n_values: int) -> np.ndarray:
    """Krippendorff's values x values coincidence matrix from _value_codes' raters x units codes.

    Every pair of ratings of a unit with m ratings counts 1 / (m - 1), in both orders.
    """
    raters = codes.shape[0]
    per_unit = np.count_nonzero(codes, axis=0)
    weight = np.zeros(len(per_unit))
    np.divide(1.0, per_unit - 1.0, out=weight, where=per_unit > 1)
    most = int(per_unit.max(initial=0))
    if most < raters // 2:
        # Many raters, few per unit (crowd data): sorting each unit's codes moves the missing (0) first, so
        # the last `most` rows hold every rating and the pairs below are those rows' only.
        codes = np.sort(codes, axis=0)[raters - most :]
    side = n_values + 1  # code 0, missing, takes a row and a column that are dropped
    pairs = np.zeros(side * side)
    for a in range(len(codes)):
        for b in range(a + 1, len(codes)):
            pairs += np.bincount(codes[a] * side + codes[b], weights=weight, minlength=side * side)
    one_way = pairs.reshape(side, side)[1:, 1:]
    return one_way + one_way.T


def _alpha_from_coincidences(coincidences: np.ndarray, values: np.ndarray, level: str) -> float:
    totals = coincidences.sum(axis=1)
    n = totals.sum()
    if n <= 1:
        return float("nan")
    delta = _distance(np.asarray(values), totals, level)
    observed = float((coincidences * delta).sum())
    expected = float((np.outer(totals, totals) * delta).sum()) / (n - 1.0)
    if expected == 0.0:  # every pairable value is the same: no variation to agree or disagree on
        return float("nan")
    return 1.0 - observed / expected


def _distance(values: np.ndarray, totals: np.ndarray, level: str) -> np.ndarray:
    """Krippendorff's squared difference function delta^2 between every pair of values."""
    if level == "nominal":
        return 1.0 - np.eye(len(values))
    if level == "interval":
        v = values.astype(float)
        return (v[:, None] - v[None, :]) ** 2
    if level == "ratio":
        v = values.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            d = ((v[:, None] - v[None, :]) / (v[:, None] + v[None, :])) ** 2
        return np.nan_to_num(d)  # 0 vs 0: no difference
    # ordinal: the number of pairable values between the two ranks, counting each end rank half.
    cumulative = np.concatenate([[0.0], np.cumsum(totals)])
    g, h = np.meshgrid(np.arange(len(values)), np.arange(len(values)), indexing="ij")
    low, high = np.minimum(g, h), np.maximum(g, h)
    between = cumulative[high + 1] - cumulative[low] - (totals[g] + totals[h]) / 2.0
    return between**2


def alpha_from_value_counts(
    value_counts: np.ndarray, values: np.ndarray, level: str = "nominal", weights: np.ndarray | None = None
) -> float:
    """Krippendorff's alpha from a units x values table of how many raters gave each value to each unit.

    `weights` counts how many units share each row, so identical rows can be collapsed (the database
    report hands over one row per distinct pattern of verdicts, with its count).
    """
    if level not in LEVELS:
        raise ValueError(f"Unknown level '{level}'. Choose one of: {', '.join(LEVELS)}.")
    counts = np.asarray(value_counts, dtype=float)
    w = np.ones(len(counts)) if weights is None else np.asarray(weights, dtype=float)
    m = counts.sum(axis=1)
    pairable = m >= 2
    counts, w, m = counts[pairable], w[pairable], m[pairable]
    if counts.size == 0:
        return float("nan")
    scale = w / (m - 1.0)
    coincidences = (counts * scale[:, None]).T @ counts - np.diag((counts * scale[:, None]).sum(axis=0))
    return _alpha_from_coincidences(coincidences, values, level)


def krippendorff_alpha(
    reliability_data: Sequence[Sequence[Any]] | np.ndarray, level: str = "nominal"
) -> float:
    """Krippendorff's alpha (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability").

    `reliability_data` is raters x units; a missing rating is None or NaN. `level` is the metric the
    values are compared with: nominal (labels), ordinal (ranks), interval or ratio (numbers).
    """
    if level not in LEVELS:
        raise ValueError(f"Unknown level '{level}'. Choose one of: {', '.join(LEVELS)}.")
    codes, values = _value_codes(reliability_data, level)
    return _alpha_from_coincidences(_coincidences(codes, len(values)), values, level)


def bootstrap_ci(
    statistic: Callable[[np.ndarray], float],
    units: Sequence[Any] | np.ndarray,
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval: resample the units with replacement, recompute the statistic.

    `statistic` gets an array of resampled units (rows of `units`). Seeded, so a report is reproducible.
    Resamples where the statistic is undefined (NaN) are left out; (NaN, NaN) if all of them are.
    """
    data = np.asarray(units, dtype=object) if not isinstance(units, np.ndarray) else units
    if len(data) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    estimates = []
    for _ in range(resamples):
        picked = data[rng.integers(0, len(data), size=len(data))]
        value = statistic(picked)
        if not math.isnan(value):
            estimates.append(value)
    return _percentile_interval(estimates, confidence)


def bootstrap_alpha_ci(
    value_counts: np.ndarray,
    values: np.ndarray,
    weights: np.ndarray,
    *,
    level: str = "nominal",
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Bootstrap interval for alpha from collapsed rows: resampling units is a multinomial draw over rows.

    The same as resampling the units one by one, without ever expanding them.
    """
    w = np.asarray(weights, dtype=float)
    total = int(w.sum())
    if total == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(total, w / w.sum(), size=resamples).astype(float)
    if level == "ordinal":  # its distances depend on each resample's totals: compute one by one
        estimates = [alpha_from_value_counts(value_counts, values, level, weights=draw) for draw in draws]
        return _percentile_interval([e for e in estimates if not math.isnan(e)], confidence)
    # Coincidences are linear in the unit weights, so every resample is one matrix product.
    counts = np.asarray(value_counts, dtype=float)
    m = counts.sum(axis=1)
    pairable = m >= 2
    counts, m, draws = counts[pairable], m[pairable], draws[:, pairable]
    if counts.size == 0:
        return float("nan"), float("nan")
    per_unit = counts[:, :, None] * counts[:, None, :] - np.einsum(
        "uv,vw->uvw", counts, np.eye(counts.shape[1])
    )
    per_unit /= (m - 1.0)[:, None, None]
    coincidences = (draws @ per_unit.reshape(len(counts), -1)).reshape(resamples, *per_unit.shape[1:])
    totals = coincidences.sum(axis=2)
    n = totals.sum(axis=1)
    delta = _distance(np.asarray(values), totals[0], level)
    observed = (coincidences * delta).sum(axis=(1, 2))
    expected = np.einsum("bi,bj,ij->b", totals, totals, delta) / np.maximum(n - 1.0, 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        estimates = np.where((expected > 0) & (n > 1), 1.0 - observed / expected, np.nan)
    return _percentile_interval([float(e) for e in estimates if not math.isnan(e)], confidence)


def _percentile_interval(estimates: list[float], confidence: float) -> tuple[float, float]:
    if not estimates:
        return float("nan"), float("nan")
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(np.asarray(estimates), [tail, 100.0 - tail])
    return float(low), float(high)
