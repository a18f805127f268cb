"""Exports: which records (records.py), their settings (settings.py), one module per file format."""

from review.exports.base import FORMATS, ExportFormat
from review.exports.csv_format import CsvFormat
from review.exports.huggingface import HuggingFaceFormat
from review.exports.jsonl import JsonlFormat
from review.exports.parquet import ParquetFormat

__all__ = ["FORMATS", "CsvFormat", "ExportFormat", "HuggingFaceFormat", "JsonlFormat", "ParquetFormat"]
