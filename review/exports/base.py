"""What an export writer does: take records one at a time, write them to a stream."""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO, Any, ClassVar

WRITERS: dict[str, type[Writer]] = {}


class Writer:
    format: ClassVar[str]
    extension: ClassVar[str]
    content_type: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        WRITERS[cls.format] = cls

    def write(self, records: Iterable[dict[str, Any]], stream: IO[bytes]) -> int:
        """Write every record; return how many were written."""
        raise NotImplementedError
