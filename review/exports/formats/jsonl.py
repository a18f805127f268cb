"""JSON Lines: one record per line, UTF-8, the format TRL and `datasets` read directly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from review.exports.formats.base import ExportFormat


class JsonlFormat(ExportFormat):
    format = "jsonl"
    label = "JSON Lines"
    order = 10
    content_type = "application/jsonl"

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        super().__init__(path, schema)
        self.stream = path.open("wb")

    @classmethod
    def data_file(cls, split: str) -> str:
        return f"{split}.jsonl"

    def write(self, records: list[dict[str, Any]]) -> None:
        # orjson writes compact UTF-8 JSON (what json.dumps gives with ensure_ascii=False and no spaces)
        # in C: the stdlib encoder was most of the export's time.
        dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        self.stream.write(b"".join([dumps(record, option=newline) for record in records]))
        self.records += len(records)

    def close(self) -> None:
        self.stream.close()
