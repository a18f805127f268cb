"""CSV for spreadsheets: one row per record, cells that a spreadsheet would run as a formula neutralised.

SFT records are written as instruction/input/output columns, DPO records as prompt/chosen/rejected
(text, not message lists), followed by provenance and the reviews' counts. A cell starting with `=`,
`+`, `-` or `@` (or a tab or carriage return, which some spreadsheets skip before reading a formula)
gets a leading single quote, as OWASP advises against CSV injection: the text then shows as text.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa

from review.exports.formats.base import ExportFormat

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PROVENANCE_COLUMNS = ["domain", "technique", "teacher", "teacher_model", "reviewed", "released", "edited"]
REVIEW_COLUMNS = ["verdict", "reviews", "accepts", "edits", "rejects", "adjudicated"]


def neutralised(text: str) -> str:
    """The cell as a spreadsheet shows it, never as a formula it would run."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _text(messages: list[dict[str, str]], role: str) -> str:
    return "\n\n".join(m["content"] for m in messages if m["role"] == role)


class CsvFormat(ExportFormat):
    format = "csv"
    label = "CSV (spreadsheet)"
    order = 40
    content_type = "text/csv; charset=utf-8"
    sft_style = "alpaca"

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        super().__init__(path, schema)
        self.pairs = "chosen" in schema.names
        content = ["prompt", "chosen", "rejected"] if self.pairs else ["instruction", "input", "output"]
        # utf-8-sig: the byte-order mark tells spreadsheet programs the file is UTF-8.
        self.stream = path.open("w", encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.stream)
        self.writer.writerow(["id", *content, *PROVENANCE_COLUMNS, *REVIEW_COLUMNS])

    @classmethod
    def data_file(cls, split: str) -> str:
        return f"{split}.csv"

    def _content(self, record: dict[str, Any]) -> list[str]:
        if self.pairs:
            return [
                _text(record["prompt"], "user"),
                _text(record["chosen"], "assistant"),
                _text(record["rejected"], "assistant"),
            ]
        return [record["instruction"], record["input"], record["output"]]

    def write(self, records: list[dict[str, Any]]) -> None:
        rows = []
        for record in records:
            verdicts = Counter(r["verdict"] for r in record["reviews"] if r["role"] == "reviewer")
            text = [record["id"], *self._content(record), *(record[c] for c in PROVENANCE_COLUMNS[:4])]
            rows.append(
                [
                    *map(neutralised, text),
                    *(str(record[c]).lower() for c in PROVENANCE_COLUMNS[4:]),
                    neutralised(record["verdict"]),
                    verdicts.total(),
                    verdicts["accept"],
                    verdicts["edit"],
                    verdicts["reject"],
                    str(any(r["role"] == "adjudicator" for r in record["reviews"])).lower(),
                ]
            )
        self.writer.writerows(rows)
        self.records += len(records)

    def close(self) -> None:
        self.stream.close()
