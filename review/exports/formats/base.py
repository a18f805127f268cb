"""What an export format is: where each split's file goes, how it is written, how it is served."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

FORMATS: dict[str, type[ExportFormat]] = {}


class ExportFormat:
    """Writes one split's records to one file, a page at a time; `close()` finishes the file."""

    format: ClassVar[str]  # its name in settings, on the command line and in Export.format
    label: ClassVar[str]  # what the dashboard's form offers
    order: ClassVar[int] = 100  # its place in that form
    content_type: ClassVar[str]  # of its data files, when one is downloaded
    dataset_card: ClassVar[bool] = False  # also write a Hugging Face dataset card (README.md)
    # SFT records in this one style whatever was asked (a spreadsheet holds columns, not message lists).
    sft_style: ClassVar[str | None] = None

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
