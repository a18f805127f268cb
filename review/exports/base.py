"""Export formats, one per module, chosen by name from a registry: where each split's file goes, how it is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

FORMATS: dict[str, type[ExportFormat]] = {}


class ExportFormat:
    """Writes one split's records to one file, a page at a time; `close()` finishes the file."""

    format: ClassVar[str]
    label: ClassVar[str]
    dataset_card: ClassVar[bool] = False  # also write a Hugging Face dataset card (README.md)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        FORMATS[cls.format] = cls

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        self.records = 0

    @classmethod
    def data_file(cls, split: str) -> str:
        """The split's file, relative to the export's folder."""
        raise NotImplementedError

    def write(self, records: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError
