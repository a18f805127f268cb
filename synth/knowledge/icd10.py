"""ICD-10-CM, from the bundled simple-icd-10-cm package: chapters, conditions, code lookup."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cache
from types import ModuleType


@cache
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


def is_valid_code(code: str) -> bool:
    icd = _icd()
    return icd.is_valid_item(code) and icd.is_category_or_subcategory(code)


def description(code: str) -> str:
    return _icd().get_description(code)


@cache
def chapter_title(chapter: str) -> str:
    return _icd().get_description(chapter)


@cache
def chapters() -> tuple[str, ...]:
    icd = _icd()
    return tuple(code for code in icd.get_all_codes(True) if icd.is_chapter(code))


@cache
def conditions_in_chapter(chapter: str) -> tuple[Condition, ...]:
    """Three-character categories of a chapter: common, readable condition names."""
    icd = _icd()
    return tuple(
        Condition(code=code, description=icd.get_description(code), chapter=chapter)
        for code in icd.get_descendants(chapter)
        if icd.is_category(code)
    )


def chapter_of(code: str) -> str:
    return _icd().get_ancestors(code)[-1]


def block_of(code: str) -> tuple[str, str]:
    """The block (range of categories) holding a code, with its title."""
    icd = _icd()
    block = next(a for a in icd.get_ancestors(code) if icd.is_block(a))
    return block, icd.get_description(block)


def ancestors(code: str) -> list[str]:
    """Parents up to the chapter, nearest first."""
    return _icd().get_ancestors(code)


def inclusion_terms(code: str) -> list[str]:
    try:
        return list(_icd().get_inclusion_term(code))
    except ValueError:
        return []
