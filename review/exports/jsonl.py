"""JSON Lines: one record per line, UTF-8, the format TRL and `datasets` read directly."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any

from review.exports.base import Writer


class JsonlWriter(Writer):
    format = "jsonl"
    extension = "jsonl"
    content_type = "application/jsonl"

    def write(self, records: Iterable[dict[str, Any]], stream: IO[bytes]) -> int:
        count = 0
        for record in records:
            stream.write(json.dumps(record, ensure_ascii=False).encode())
            stream.write(b"\n")
            count += 1
        return count
