"""What a quality check is: a named, ordered class that says one Verdict about one candidate.

Each check is a subclass of `Check` in a module of its own in this package; defining the class
registers it by its `name` (as export formats register by theirs). The gate runs the registered
checks in `order`: filters first, so the first failure names the reason a candidate is dropped,
then the flags and scores every candidate gets.

A check takes the candidate alone. Checks that compare it with a corpus (exact and near-duplicates,
novelty) read that corpus themselves, as it stands when the candidate is gated: "earlier kept
candidates" changes with every candidate the gate keeps, so a corpus handed in for a whole batch
would be out of date after the first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from synth.models import Candidate
    from synth.quality.verdict import Verdict

CHECKS: dict[str, type[Check]] = {}


class Check:
    """One quality check. Subclasses set `name` and `order` and implement `verdict()`."""

    # Stored as QualityResult.check_name, and as Candidate.filter_reason when the check filters.
    name: ClassVar[str]
    # When the gate runs it, lowest first (unique: the order is never left to chance).
    order: ClassVar[int]
    # The heading of its flag on the review page ("" when it is never shown as a flag), and where that
    # flag comes among the others (lowest first): what a reviewer must judge comes before why a
    # candidate was dropped.
    flag_title: ClassVar[str] = ""
    flag_order: ClassVar[int] = 0
    # Its row in the gate's funnel on the dashboard and in quality_report ("" for scores with no row).
    funnel_label: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            return  # a shared base for other checks, not a check itself
        for other in CHECKS.values():
            if _same_class(other, cls):
                continue
            if other.name == cls.name:
                raise ValueError(
                    f"Two quality checks are named {cls.name!r}: {other.__qualname__}, {cls.__qualname__}"
                )
            if other.order == cls.order:
                raise ValueError(
                    f"Quality checks {other.name!r} and {cls.name!r} have the same order ({cls.order})"
                )
        CHECKS[cls.name] = cls

    def applies_to(self, candidate: Candidate) -> bool:
        """Whether the gate runs this check on the candidate (every candidate unless a check says not)."""
        return True

    def verdict(self, candidate: Candidate) -> Verdict:
        raise NotImplementedError


def _same_class(a: type[Check], b: type[Check]) -> bool:
    # A module imported again (a reload) defines its class anew: that replaces, it does not clash.
    return (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


def ordered_checks() -> list[Check]:
    """One instance of every registered check, in the order the gate runs them."""
    return [check() for check in sorted(CHECKS.values(), key=lambda c: c.order)]


def check_names() -> frozenset[str]:
    """The names the gate's checks store (a filter_reason outside them is a technique's own)."""
    return frozenset(CHECKS)
