"""An export's settings (kind, style, filters, split), parsed once so bad input fails with a clear message."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from review.exports.formats import FORMATS
from synth.quality.phi import KINDS, find_phi

DEFAULT_SYSTEM_PROMPT = (
    "You are a careful clinical assistant. Answer accurately and concisely, and say when a question "
    "needs a clinician's direct assessment."
)


# The SFT record styles, as the export form and the exports table name them.
SFT_STYLES = {
    "messages": "Conversational messages (system/user/assistant)",
    "prompt_completion": "Prompt and completion",
    "alpaca": "Alpaca (instruction, input, output)",
}


class ExportSettingsError(ValueError):
    """The settings cannot be used; the message says what to fix."""


class ExportSettings(BaseModel):
    """What an export holds and how its records are shaped. Stored on Export.filters as JSON."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["sft", "dpo"] = "sft"
    format: str = "jsonl"  # a registered format's name (review/exports/formats/)
    # SFT: TRL's conversational `messages`, conversational prompt/completion, or Alpaca columns.
    sft_style: Literal["messages", "prompt_completion", "alpaca"] = "messages"
    # DPO: also turn a physician's edit of a single response into a pair (edited = chosen).
    dpo_from_edits: bool = False
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    domains: list[str] = Field(default_factory=list)  # slugs; empty = every domain
    techniques: list[str] = Field(default_factory=list)  # empty = every technique
    date_from: dt.date | None = None  # generated on or after
    date_to: dt.date | None = None  # generated on or before
    min_agreement: float | None = Field(default=None, ge=-1.0, le=1.0)  # domain's Krippendorff alpha
    include_released: bool = False  # add released batches' unreviewed records (reviewed=false)
    validation_share: float = Field(default=0.0, ge=0.0, lt=1.0)
    seed: int = 42
    # Reviewers' pseudonyms are keyed to each export, so two exports cannot be joined on them; stable
    # ones (keyed by the server's secret) are the same in every export, for a data lead who asks.
    stable_pseudonyms: bool = False

    @model_validator(mode="after")
    def _system_prompt_without_phi(self) -> ExportSettings:
        # The system prompt goes into every record: it is screened like the records themselves.
        findings = find_phi(self.system_prompt)
        if findings:
            kinds = ", ".join(sorted({KINDS[f.kind] for f in findings}))
            raise ValueError(f"The system prompt may hold PHI ({kinds}): remove it")
        return self

    @model_validator(mode="after")
    def _dates_in_order(self) -> ExportSettings:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("The start date is after the end date: swap them")
        return self

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in FORMATS:
            raise ValueError(f"'{value}' is not an export format: choose one of {', '.join(FORMATS)}")
        return value

    @model_validator(mode="after")
    def _format_style(self) -> ExportSettings:
        # Some formats hold SFT records in one style only (CSV: instruction/input/output columns).
        style = FORMATS[self.format].sft_style
        if style and self.kind == "sft":
            self.sft_style = style
        return self

    @classmethod
    def load(cls, data: dict) -> ExportSettings:
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg'].removeprefix('Value error, ')}"
                for e in error.errors()
            )
            raise ExportSettingsError(f"Check the export settings: {problems}.") from None

    def stored(self) -> dict:
        return self.model_dump(mode="json")
