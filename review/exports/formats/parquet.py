"""Parquet through pyarrow, written in row groups as pages arrive (never the whole table in memory)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from review.exports.formats.base import ExportFormat


class ParquetFormat(ExportFormat):
    format = "parquet"
    label = "Parquet"
    order = 20
    content_type = "application/vnd.apache.parquet"

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        super().__init__(path, schema)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = pq.ParquetWriter(path, schema, compression="zstd")

    @classmethod
    def data_file(cls, split: str) -> str:
        return f"{split}.parquet"

    def write(self, records: list[dict[str, Any]]) -> None:
        self.writer.write_table(pa.Table.from_pylist(records, schema=self.schema))
        self.records += len(records)

    def close(self) -> None:
        self.writer.close()
