"""Export writers, one per format, chosen by name from a registry."""

from review.exports.base import WRITERS, Writer
from review.exports.jsonl import JsonlWriter

__all__ = ["WRITERS", "JsonlWriter", "Writer"]
