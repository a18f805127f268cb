"""ICD-10-CM, from the bundled simple-icd-10-cm package: chapters, conditions, code lookup."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, wraps
from types import ModuleType

# The package fills internal caches on first use and is imported lazily: both are unsafe from several
# threads at once (the gate in a run's thread and the offline teacher in the dispatcher's), and a
# half-filled answer cached here would stay wrong for the life of the process. Look-ups are quick,
# so one at a time costs nothing noticeable.
_LOCK = threading.RLock()


def _serialized[**P, R](function: Callable[P, R]) -> Callable[P, R]:
    @wraps(function)
    def locked(*args: P.args, **kwargs: P.kwargs) -> R:
        with _LOCK:
            return function(*args, **kwargs)

    return locked


@cache
@_serialized
def _icd() -> ModuleType:
    """The package, imported on first use: importing it parses the whole code set (about 1.7 s and
    270 MB), which every process importing the quality gate (web server, export workers, management
    commands) would otherwise pay at start-up whether or not it ever looks up a code."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the package imports pkg_resources, which warns on import
        import simple_icd_10_cm

    return simple_icd_10_cm


@dataclass(frozen=True)
class Condition:
    code: str
    description: str
    chapter: str


@_serialized
def is_valid_code(code: str) -> bool:
    icd = _icd()
    return icd.is_valid_item(code) and icd.is_category_or_subcategory(code)


@_serialized
def description(code: str) -> str:
    return _icd().get_description(code)


@cache
@_serialized
def chapter_title(chapter: str) -> str:
    return _icd().get_description(chapter)


@cache
@_serialized
def chapters() -> tuple[str, ...]:
    icd = _icd()
    return tuple(code for code in icd.get_all_codes(True) if icd.is_chapter(code))


@cache
@_serialized
def conditions_in_chapter(chapter: str) -> tuple[Condition, ...]:
    """Three-character categories of a chapter: common, readable condition names."""
    icd = _icd()
    return tuple(
        Condition(code=code, description=icd.get_description(code), chapter=chapter)
        for code in icd.get_descendants(chapter)
        if icd.is_category(code)
    )


@_serialized
def chapter_of(code: str) -> str:
    return _icd().get_ancestors(code)[-1]


@_serialized
def block_of(code: str) -> tuple[str, str]:
    """The block (range of categories) holding a code, with its title."""
    icd = _icd()
    block = next(a for a in icd.get_ancestors(code) if icd.is_block(a))
    return block, icd.get_description(block)


@_serialized
def ancestors(code: str) -> list[str]:
    """Parents up to the chapter, nearest first."""
    return _icd().get_ancestors(code)


@_serialized
def inclusion_terms(code: str) -> list[str]:
    try:
        return list(_icd().get_inclusion_term(code))
    except ValueError:
        return []


@_serialized
def is_block(code: str) -> bool:
    icd = _icd()
    return icd.is_valid_item(code) and icd.is_block(code)


@_serialized
def block_title(block: str) -> str:
    return _icd().get_description(block)


@cache
@_serialized
def categories_in_block(block: str) -> tuple[Condition, ...]:
    icd = _icd()
    chapter = icd.get_ancestors(block)[-1]
    return tuple(
        Condition(code=code, description=icd.get_description(code), chapter=chapter)
        for code in icd.get_descendants(block)
        if icd.is_category(code)
    )


@cache
@_serialized
def blocks_in_chapter(chapter: str) -> tuple[tuple[str, str], ...]:
    """(block, title) of a chapter's blocks, in order."""
    icd = _icd()
    return tuple(
        (code, icd.get_description(code)) for code in icd.get_children(chapter) if icd.is_block(code)
    )
