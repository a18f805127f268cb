"""Model instances read from a written-out SELECT, converted as the ORM converts them.

For the few statements of a hot path written in SQL because building them through the ORM cost more
Python than running them (review.queue.claims): select a model's columns with `ModelColumns.sql`, then
turn each row's slice into an instance with `ModelColumns.read`. Values go through the same converters
a queryset applies (SQLite's dates, JSON fields), so the instances are those a queryset would return.
"""

from __future__ import annotations

from functools import cached_property

from django.db import connection
from django.db.models import Model


class ModelColumns:
    """Every concrete column of `model`, under the table alias `alias`, in the model's field order."""

    def __init__(self, model: type[Model], alias: str) -> None:
        self.model = model
        self.alias = alias
        self.fields = model._meta.concrete_fields
        self.attnames = [field.attname for field in self.fields]
        self.pk_index = self.fields.index(model._meta.pk)

    def __len__(self) -> int:
        return len(self.fields)

    @property
    def sql(self) -> str:
        quote = connection.ops.quote_name
        return ", ".join(f"{self.alias}.{quote(field.column)}" for field in self.fields)

    @cached_property
    def _converters(self) -> list[tuple[int, list, object]]:
        found = []
        for index, field in enumerate(self.fields):
            column = field.get_col(self.alias)
            converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if converters:
                found.append((index, converters, column))
        return found

    def read(self, values) -> Model | None:
        """The instance in `values` (this model's slice of a row); None when its primary key is NULL
        (nothing matched a LEFT JOIN)."""
        if values[self.pk_index] is None:
            return None
        values = list(values)
        for index, converters, column in self._converters:
            for convert in converters:
                values[index] = convert(values[index], column, connection)
        return self.model.from_db(connection.alias, self.attnames, values)


def read_row(row, columns: list[ModelColumns] | tuple[ModelColumns, ...]) -> tuple[list, tuple]:
    """The instances in `row`, one for each ModelColumns in order (selected in that order), and the
    row's values after theirs."""
    instances, at = [], 0
    for model_columns in columns:
        instances.append(model_columns.read(row[at : at + len(model_columns)]))
        at += len(model_columns)
    return instances, tuple(row[at:])
