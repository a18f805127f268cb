"""JSON Lines: one record per line, UTF-8, the format TRL and `datasets` read directly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from review.exports.base import ExportFormat

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class JsonlFormat(ExportFormat):
    format = "jsonl"
    label = "JSON Lines"

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        super().__init__(path, schema)
        self.stream = path.open("w", encoding="utf-8", newline="\n")

    @classmethod
    def data_file(cls, split: str) -> str:
        return f"{split}.jsonl"

    def write(self, records: list[dict[str, Any]]) -> None:
        self.stream.write("".join(_encode(record) + "\n" for record in records))
        self.records += len(records)

    def close(self) -> None:
        self.stream.close()
