"""What an export would write, before it is made: its first records and how many it would hold.

The preview reads the records exactly as the build does (review.exports.records: the same selection,
the same record shapes, the same last gate), so its first rows are the export's first rows. The last
gate screens every record's text for PHI (about a millisecond each): up to FULL_SCREEN_LIMIT selected
records the preview screens them all and its count is exact; above that it screens only the records it
shows and says the rest is screened when the export is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from review.agreement_report import domain_alphas
from review.exports.build import ExportError, empty_reason, split_of
from review.exports.last_gate import WITHHELD
from review.exports.records import RecordShaper, record_pages, select
from review.exports.settings import ExportSettings, ExportSettingsError

PREVIEW_ROWS = 20
FULL_SCREEN_LIMIT = 5000


@dataclass
class ExportPreview:
    settings: ExportSettings
    selected: int  # records the filters select
    # The first PREVIEW_ROWS as written, each with its "split" and "shown" (prompt and answer) added.
    records: list[dict[str, Any]]
    screened_all: bool  # whether `count` and `withheld` cover every selected record
    count: int  # records the export would write (exact when screened_all)
    withheld: dict[str, int] = field(default_factory=dict)
    filter_counts: list[dict[str, Any]] = field(default_factory=list)
    empty: str = ""  # why the export would be empty ("" when it would not)

    @property
    def withheld_labels(self) -> list[tuple[str, int]]:
        return [(WITHHELD[reason], n) for reason, n in self.withheld.items() if n]


def _shown(record: dict[str, Any]) -> dict[str, str]:
    """The record's prompt and answer (and a pair's rejected answer), whatever its shape."""
    if "instruction" in record:  # Alpaca columns
        prompt = record["instruction"] + (f"\n\n{record['input']}" if record["input"] else "")
        return {"prompt": prompt, "answer": record["output"], "rejected": ""}
    turns = record.get("messages") or [*record.get("prompt", []), *record.get("completion", [])]
    user = next((t["content"] for t in turns if t["role"] == "user"), "")
    answer = next((t["content"] for t in reversed(turns) if t["role"] == "assistant"), "")
    if "chosen" in record:
        answer = record["chosen"][0]["content"]
        return {"prompt": user, "answer": answer, "rejected": record["rejected"][0]["content"]}
    return {"prompt": user, "answer": answer, "rejected": ""}


def preview_export(**options: Any) -> ExportPreview:
    """The export these settings (as `request_export` takes them) would make, if it were made now."""
    try:
        parsed = ExportSettings.load(options)
    except ExportSettingsError as error:
        raise ExportError(str(error)) from None
    selection = select(parsed, snapshot=timezone.now(), domain_alphas=domain_alphas)
    shaper = RecordShaper(parsed)
    screened_all = selection.total <= FULL_SCREEN_LIMIT
    first: list[dict[str, Any]] = []
    written = 0
    for page in record_pages(selection, shaper):
        first += page[: PREVIEW_ROWS - len(first)]
        written += len(page)
        if not screened_all and len(first) >= PREVIEW_ROWS:
            break
    for record in first:
        record["split"] = split_of(record["id"], parsed.validation_share, parsed.seed)
        record["shown"] = _shown(record)
    withheld = {reason: shaper.withheld[reason] for reason in WITHHELD}
    count = written if screened_all else selection.total - sum(withheld.values())
    empty = ""
    if screened_all and not written:
        empty = empty_reason(
            {
                "counts": {"selected": shaper.seen},
                "withheld": withheld,
                "filter_counts": selection.filter_counts,
                "settings": parsed.stored(),
            }
        )
    return ExportPreview(
        settings=parsed,
        selected=selection.total,
        records=first,
        screened_all=screened_all,
        count=count,
        withheld=withheld,
        filter_counts=selection.filter_counts,
        empty=empty,
    )
