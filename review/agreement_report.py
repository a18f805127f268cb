"""How far the reviews can be trusted: agreement figures computed from database counts (GROUP BY).

Nothing here loads decisions one by one. Each query returns counts of verdict patterns, and the
statistics in review.agreement are computed from those counts, so the report costs the same handful of
queries for a hundred items or a million.

What "agree" means: two reviewers agree on an item when both approve it (accept or edit) or both reject
it. Approving reviewers may still end with different texts (review is blind: each edit is its author's
proposal); such items go to adjudication, and `texts_differ` counts them. Krippendorff's alpha
(nominal) over approve/reject is the headline figure, because items may carry two, three or more
reviews; Cohen's kappa is given for each pair of reviewers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connection

from review.agreement import alpha_from_value_counts, bootstrap_alpha_ci, kappa_from_table
from review.models import Adjudication, Decision, ReviewItem
from synth.models import Candidate, Domain

VERDICTS = ("accept", "edit", "reject")
OUTCOMES = np.array(["approve", "reject"], dtype=object)
# A pair's preference, for items approved with one: Preference's values, "neither" being a reject.
PREFERENCES = np.array(["output", "rejected_output", "tie"], dtype=object)
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 20260101


@dataclass
class Profiles:
    """Counts of items by verdict pattern: rows of (approving reviews, rejecting reviews) and their weights
    (or, with `outcomes=PREFERENCES`, of reviews preferring each response of a pair)."""

    counts: dict[tuple[int, ...], int] = field(default_factory=lambda: defaultdict(int))
    outcomes: np.ndarray = field(default_factory=lambda: OUTCOMES)

    def add(self, approve: int, reject: int, items: int) -> None:
        self.counts[(approve, reject)] += items

    @property
    def items(self) -> int:
        return sum(self.counts.values())

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        patterns = sorted(self.counts)
        return np.array(patterns, dtype=float).reshape(-1, len(self.outcomes)), np.array(
            [self.counts[p] for p in patterns], dtype=float
        )

    def alpha(self) -> float:
        if not self.counts:
            return float("nan")
        rows, weights = self.arrays()
        return alpha_from_value_counts(rows, self.outcomes, weights=weights)

    def percent_agreement(self) -> float:
        rows, weights = self.arrays()
        if not len(rows):
            return float("nan")
        m = rows.sum(axis=1)
        share = (rows * (rows - 1)).sum(axis=1) / (m * (m - 1))
        return float((share * weights).sum() / weights.sum())

    def summary(self, *, with_interval: bool = True) -> dict:
        alpha = self.alpha()
        low = high = float("nan")
        if with_interval and self.counts:
            rows, weights = self.arrays()
            low, high = bootstrap_alpha_ci(
                rows, self.outcomes, weights, resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED
            )
        return {
            "items": self.items,
            "alpha": _number(alpha),
            "alpha_ci": [_number(low), _number(high)] if with_interval else None,
            "percent_agreement": _number(self.percent_agreement()) if self.counts else None,
        }


def _number(value: float) -> float | None:
    """Rounded for people and JSON; None where the statistic is undefined."""
    return None if value is None or math.isnan(value) else round(float(value), 4)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _domain_filter(domains: Sequence[str] | None, alias: str = "dom") -> tuple[str, list]:
    if not domains:
        return "", []
    marks = ", ".join(["%s"] * len(domains))
    return f" AND {alias}.slug IN ({marks})", list(domains)


def _profile_rows(domains: Sequence[str] | None) -> list[tuple]:
    """(domain, technique, day, approving, rejecting, items) for items with two or more reviews."""
    where, params = _domain_filter(domains)
    sql = f"""
        SELECT dom.name, c.technique, p.day, p.approving, p.rejecting, COUNT(*)
        FROM (
            SELECT d.item_id,
                   date(MAX(d.created_at)) AS day,
                   SUM(CASE WHEN d.verdict = 'reject' THEN 0 ELSE 1 END) AS approving,
                   SUM(CASE WHEN d.verdict = 'reject' THEN 1 ELSE 0 END) AS rejecting
            FROM {_table(Decision)} d
            WHERE d.undone_at IS NULL AND d.superseded_at IS NULL
            GROUP BY d.item_id
            HAVING COUNT(*) >= 2
        ) p
        JOIN {_table(ReviewItem)} i ON i.id = p.item_id
        JOIN {_table(Candidate)} c ON c.id = i.candidate_id
        LEFT JOIN {_table(Domain)} dom ON dom.id = c.domain_id
        WHERE 1 = 1{where}
        GROUP BY dom.name, c.technique, p.day, p.approving, p.rejecting
    """  # noqa: S608 (table names come from the models; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _scope(domains: Sequence[str] | None, item_column: str) -> tuple[str, str, list]:
    """(joins, conditions, params) restricting decisions to the domains; nothing to join without a filter."""
    if not domains:
        return "", "", []
    where, params = _domain_filter(domains)
    joins = f"""
        JOIN {_table(ReviewItem)} i ON i.id = {item_column}
        JOIN {_table(Candidate)} c ON c.id = i.candidate_id
        LEFT JOIN {_table(Domain)} dom ON dom.id = c.domain_id"""
    return joins, where, params


def _pair_rows(domains: Sequence[str] | None) -> list[tuple]:
    """(reviewer a, reviewer b, verdict a, verdict b, items) over items both reviewed, a < b."""
    joins, where, params = _scope(domains, "a.item_id")
    sql = f"""
        SELECT a.reviewer_id, b.reviewer_id, a.verdict, b.verdict, COUNT(*)
        FROM {_table(Decision)} a
        JOIN {_table(Decision)} b
          ON b.item_id = a.item_id AND a.reviewer_id < b.reviewer_id AND b.undone_at IS NULL AND b.superseded_at IS NULL{joins}
        WHERE a.undone_at IS NULL AND a.superseded_at IS NULL{where}
        GROUP BY a.reviewer_id, b.reviewer_id, a.verdict, b.verdict
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _preference_rows(domains: Sequence[str] | None) -> list[tuple]:
    """(reviews preferring output, rejected_output, tie; items) for pair items approved by two or more
    reviews with a preference."""
    joins, where, params = _scope(domains, "d.item_id")
    sql = f"""
        SELECT p.output, p.rejected, p.tie, COUNT(*)
        FROM (
            SELECT d.item_id,
                   SUM(CASE WHEN d.preference = 'output' THEN 1 ELSE 0 END) AS output,
                   SUM(CASE WHEN d.preference = 'rejected_output' THEN 1 ELSE 0 END) AS rejected,
                   SUM(CASE WHEN d.preference = 'tie' THEN 1 ELSE 0 END) AS tie
            FROM {_table(Decision)} d{joins}
            WHERE d.undone_at IS NULL AND d.superseded_at IS NULL AND d.preference IN ('output', 'rejected_output', 'tie'){where}
            GROUP BY d.item_id
            HAVING COUNT(*) >= 2
        ) p
        GROUP BY p.output, p.rejected, p.tie
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _texts_differ_row(domains: Sequence[str] | None) -> tuple[int, int]:
    """(items two or more reviews approved, those whose approving reviews ended with different texts).

    Review is blind, so each edit is its author's own proposal: two approvals can stand for different
    texts (two different edits, or an accept and an edit). Decision.text_digest names each text.
    """
    joins, where, params = _scope(domains, "d.item_id")
    sql = f"""
        SELECT COUNT(*), COALESCE(SUM(CASE WHEN p.texts > 1 THEN 1 ELSE 0 END), 0)
        FROM (
            SELECT d.item_id, COUNT(DISTINCT d.text_digest) AS texts
            FROM {_table(Decision)} d{joins}
            WHERE d.undone_at IS NULL AND d.superseded_at IS NULL AND d.verdict <> 'reject'{where}
            GROUP BY d.item_id
            HAVING COUNT(*) >= 2
        ) p
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        items, differ = cursor.fetchone()
    return int(items or 0), int(differ or 0)


def _reviewer_rows(domains: Sequence[str] | None) -> list[tuple]:
    """(reviewer, verdict, seconds spent, decisions): enough for rates and the median time."""
    joins, where, params = _scope(domains, "d.item_id")
    sql = f"""
        SELECT d.reviewer_id, d.verdict, d.seconds_spent, COUNT(*)
        FROM {_table(Decision)} d{joins}
        WHERE d.undone_at IS NULL AND d.superseded_at IS NULL{where}
        GROUP BY d.reviewer_id, d.verdict, d.seconds_spent
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _adjudication_rows(domains: Sequence[str] | None) -> list[tuple]:
    """(reviewer, agrees with the adjudicated verdict, decisions) on adjudicated items (latest ruling)."""
    joins, where, params = _scope(domains, "d.item_id")
    agrees = "CASE WHEN (d.verdict = 'reject') = (adj.verdict = 'reject') THEN 1 ELSE 0 END"
    sql = f"""
        SELECT d.reviewer_id, {agrees}, COUNT(*)
        FROM (
            SELECT item_id, verdict FROM {_table(Adjudication)}
            WHERE id IN (SELECT MAX(id) FROM {_table(Adjudication)} GROUP BY item_id)
        ) adj
        JOIN {_table(Decision)} d ON d.item_id = adj.item_id{joins}
        WHERE d.undone_at IS NULL AND d.superseded_at IS NULL{where}
        GROUP BY d.reviewer_id, {agrees}
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _median(histogram: dict[int, int]) -> float | None:
    """The median of values given as {value: how many times}."""
    total = sum(histogram.values())
    if not total:
        return None
    ordered = sorted(histogram.items())
    cumulative, lower, upper = 0, None, None
    for value, n in ordered:
        cumulative += n
        if lower is None and cumulative >= (total + 1) // 2:
            lower = value
        if cumulative >= total // 2 + 1:
            upper = value
            break
    return (lower + upper) / 2 if total % 2 == 0 else float(lower)


def _week(day) -> str:
    if isinstance(day, str):
        day = dt.date.fromisoformat(day[:10])
    elif isinstance(day, dt.datetime):
        day = day.date()
    monday = day - dt.timedelta(days=day.weekday())
    return monday.isoformat()


def agreement_report(*, domains: Sequence[str] | None = None, with_intervals: bool = True) -> dict:
    """Every agreement figure the dashboard, the command and the dataset card show, from database counts.

    `domains` (slugs) restricts the report to those domains.
    """
    overall = Profiles()
    by_domain: dict[str, Profiles] = defaultdict(Profiles)
    by_technique: dict[str, Profiles] = defaultdict(Profiles)
    by_week: dict[str, Profiles] = defaultdict(Profiles)
    for domain, technique, day, approving, rejecting, items in _profile_rows(domains):
        for profiles in (overall, by_domain[domain or "(no domain)"], by_technique[technique]):
            profiles.add(approving, rejecting, items)
        if day is not None:
            by_week[_week(day)].add(approving, rejecting, items)

    preferences = Profiles(outcomes=PREFERENCES)
    for output, rejected, tie, items in _preference_rows(domains):
        preferences.counts[(output, rejected, tie)] += items

    names = dict(get_user_model().objects.values_list("pk", get_user_model().USERNAME_FIELD))
    pairs = _pairs(_pair_rows(domains), names)
    reviewers = _reviewers(_reviewer_rows(domains), _adjudication_rows(domains), names)
    approved_by_several, texts_differ = _texts_differ_row(domains)
    return {
        "definition": "Agreement on approve (accept or edit) versus reject; items with two or more reviews.",
        "overall": overall.summary(with_interval=with_intervals),
        "by_domain": {k: v.summary(with_interval=with_intervals) for k, v in sorted(by_domain.items())},
        "by_technique": {k: v.summary(with_interval=with_intervals) for k, v in sorted(by_technique.items())},
        "over_time": [
            {"week": k, **v.summary(with_interval=with_intervals)} for k, v in sorted(by_week.items())
        ],
        "pairs": pairs,
        "reviewers": reviewers,
        "preferences": {
            "definition": "Agreement on which response of a preference pair is better (either, or a tie); "
            "pair items two or more reviewers approved.",
            **preferences.summary(with_interval=with_intervals),
        },
        "texts_differ": {
            "definition": "Items two or more reviewers approved whose approved texts differ (two different "
            "edits, or an accept and an edit; whitespace aside): each goes to adjudication.",
            "items": approved_by_several,
            "differ": texts_differ,
            "share": _number(texts_differ / approved_by_several) if approved_by_several else None,
        },
        "domains": list(domains or []),
    }


def _pairs(rows: Iterable[tuple], names: dict) -> list[dict]:
    tables: dict[tuple[int, int], np.ndarray] = defaultdict(lambda: np.zeros((3, 3), dtype=int))
    for a, b, verdict_a, verdict_b, items in rows:
        tables[(a, b)][VERDICTS.index(verdict_a), VERDICTS.index(verdict_b)] += items
    result = []
    for (a, b), table in sorted(tables.items()):
        # Collapse accept and edit: both approve the item.
        binary = np.array(
            [[table[:2, :2].sum(), table[:2, 2].sum()], [table[2, :2].sum(), table[2, 2]]], dtype=float
        )
        result.append(
            {
                "reviewer_a": names.get(a, str(a)),
                "reviewer_b": names.get(b, str(b)),
                "reviewer_a_id": a,
                "reviewer_b_id": b,
                "items": int(table.sum()),
                "kappa": _number(kappa_from_table(binary)),
                "percent_agreement": _number(np.trace(binary) / binary.sum()),
                "confusion": {"labels": list(VERDICTS), "counts": table.tolist()},
            }
        )
    return result


def _reviewers(rows: Iterable[tuple], adjudication_rows: Iterable[tuple], names: dict) -> list[dict]:
    verdicts: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(VERDICTS, 0))
    seconds: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for reviewer, verdict, spent, n in rows:
        verdicts[reviewer][verdict] += n
        if spent is not None:
            seconds[reviewer][spent] += n
    adjudicated: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for reviewer, agrees, n in adjudication_rows:
        adjudicated[reviewer][0 if agrees else 1] += n
    result = []
    for reviewer, counts in sorted(verdicts.items(), key=lambda kv: names.get(kv[0], "")):
        total = sum(counts.values())
        agree, disagree = adjudicated.get(reviewer, (0, 0))
        result.append(
            {
                "reviewer": names.get(reviewer, str(reviewer)),
                "reviewer_id": reviewer,
                "items": total,
                **{f"{v}_rate": _number(counts[v] / total) for v in VERDICTS},
                "median_seconds": _median(seconds.get(reviewer, {})),
                "adjudicated_items": agree + disagree,
                "agreement_with_adjudication": _number(agree / (agree + disagree))
                if agree + disagree
                else None,
            }
        )
    return result


def domain_alphas() -> dict[str, float | None]:
    """Alpha per domain slug (no interval): what an export's minimum-agreement filter compares against."""
    where_rows = _profile_rows(None)
    slugs = dict(Domain.objects.values_list("name", "slug"))
    per: dict[str, Profiles] = defaultdict(Profiles)
    for domain, _technique, _day, approving, rejecting, items in where_rows:
        if domain is not None:
            per[slugs[domain]].add(approving, rejecting, items)
    return {slug: _number(p.alpha()) for slug, p in per.items()}
