"""Generation techniques, one module each, found by name in a registry."""

from __future__ import annotations

from synth.techniques.backtranslation import Backtranslation
from synth.techniques.base import Discard, Draft, StepResult, Technique
from synth.techniques.distillation import Distillation
from synth.techniques.evol_instruct import EvolInstruct
from synth.techniques.preference import PreferencePairs
from synth.techniques.self_instruct import SelfInstruct

TECHNIQUES: dict[str, type[Technique]] = {
    cls.name: cls for cls in (SelfInstruct, EvolInstruct, Distillation, Backtranslation, PreferencePairs)
}

__all__ = ["TECHNIQUES", "Discard", "Draft", "StepResult", "Technique"]
