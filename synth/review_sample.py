"""Which rule sends a run's candidates to physicians: asked of review (synth never imports it).

Without a sampling policy, a run's own share applies; with one (the run's own, else the default),
the policy does and the run's share is not used. The launch form shows the rule that will apply and
the run page the rule that did (review stores it on the run when it samples: `sampling_rules`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from synth.signals import sampling_rule_requested

if TYPE_CHECKING:
    from synth.models import GenerationRun


def describe_share(sample_rate: float) -> dict[str, Any]:
    """The rule when no policy applies: the run's own share, and high-risk domains in full."""
    return {
        "policy": "",
        "rate": sample_rate,
        "summary": f"{sample_rate:.0%} of the candidates that pass the quality gate (the run's own share), "
        "and every candidate of a high-risk domain",
    }


def rule_that_will_apply(*, run: GenerationRun | None = None, sample_rate: float) -> dict[str, Any]:
    """The rule review will use for this run (or a run launched now with this share)."""
    for _receiver, answer in sampling_rule_requested.send(sender=None, run=run, sample_rate=sample_rate):
        if answer:
            return answer
    return describe_share(sample_rate)
