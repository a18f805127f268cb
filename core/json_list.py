"""An aggregate both our databases have: the aggregated values as one JSON array."""

from __future__ import annotations

from django.db.models import Aggregate, JSONField


class JSONList(Aggregate):
    """The aggregated values as one JSON array (SQLite's JSON_GROUP_ARRAY, PostgreSQL's JSONB_AGG)."""

    function = "JSON_GROUP_ARRAY"
    output_field = JSONField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="JSONB_AGG", **extra_context)
