"""A Hugging Face dataset folder: Parquet files per split under data/, and a README.md dataset card."""

from __future__ import annotations

from review.exports.formats.parquet import ParquetFormat


class HuggingFaceFormat(ParquetFormat):
    format = "hf"
    label = "Hugging Face dataset folder"
    order = 30
    dataset_card = True

    @classmethod
    def data_file(cls, split: str) -> str:
        # The file-name pattern `datasets` maps to splits by itself, also named in the card's YAML.
        return f"data/{split}-00000-of-00001.parquet"
