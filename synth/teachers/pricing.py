"""What a teacher's tokens cost: the one formula behind every recorded call and every estimate."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from synth.models import Teacher

PER_MILLION = Decimal(1_000_000)  # the admin's prices are per million tokens


def token_cost(teacher: Teacher, input_tokens: int, output_tokens: int) -> Decimal:
    """USD at the teacher's live prices, unrounded: callers apply a batch discount and round as they store."""
    return (
        input_tokens * teacher.price_input_per_mtok + output_tokens * teacher.price_output_per_mtok
    ) / PER_MILLION
