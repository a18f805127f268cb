"""A database connection of one's own, outside the process's pool."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper


def connection_outside_the_pool(**options) -> BaseDatabaseWrapper:
    """A new connection with the default database's settings (and these OPTIONS added), opened when
    first used, directly: not one of the process's pool (if it has one), which is sized for the
    process's threads. The caller closes it."""
    own = connections.create_connection(DEFAULT_DB_ALIAS)
    kept = {name: value for name, value in own.settings_dict["OPTIONS"].items() if name != "pool"}
    own.settings_dict = {**own.settings_dict, "OPTIONS": {**kept, **options}}
    return own
