"""The quality gate's checks, one module each; importing this package registers every one of them.

Adding a check is adding a module here with one `Check` subclass: no list elsewhere names it.
"""

from __future__ import annotations

import importlib
import pkgutil

from synth.quality.checks.base import CHECKS, Check, check_names, ordered_checks

__all__ = ["CHECKS", "Check", "check_names", "ordered_checks"]

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
