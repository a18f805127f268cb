"""Export formats, one module each: an `ExportFormat` subclass with a `format` name registers itself.

Every module of this package is imported here, so a new format is one new module (and its tests): it
appears in the dashboard's export form, `manage.py export --format`, the settings' validation and
Export.format's choices (no migration), and its files are served with its `content_type`.
"""

from __future__ import annotations

import importlib
import pkgutil

from review.exports.formats.base import FORMATS, ExportFormat

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
_ordered = sorted(FORMATS.items(), key=lambda item: (item[1].order, item[0]))
FORMATS.clear()
FORMATS.update(_ordered)


def format_choices() -> list[tuple[str, str]]:
    """Every registered format, in the form's order."""
    return [(name, export_format.label) for name, export_format in FORMATS.items()]


__all__ = ["FORMATS", "ExportFormat", "format_choices"]
