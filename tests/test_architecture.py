"""The layering rules of the tree, read from the source with `ast` (function-level imports count;
imports only for type annotations do not):
no import cycle, synth never imports review, core imports neither, services never import tasks,
and no module imports another module's private name."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("core", "synth", "review")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    _module_name(path): path
    for app in APPS
    for path in (ROOT / app).rglob("*.py")
    if "migrations" not in path.parts
}


def _runtime_nodes(tree: ast.AST):
    """Every node, leaving out `if TYPE_CHECKING:` blocks (annotations only, never imported at run time)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def _imports(name: str, path: Path) -> list[tuple[str, str | None]]:
    """(the module imported, the name taken from it or None) for every import in the file."""
    found = []
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join(package + ([base] if base else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.append((submodule, None) if submodule in MODULES else (base, alias.name))
    return found


def _known(target: str) -> str | None:
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


EDGES: dict[str, set[str]] = {name: set() for name in MODULES}
PRIVATE: list[str] = []
for _name, _path in MODULES.items():
    for _target, _taken in _imports(_name, _path):
        if (_module := _known(_target)) is None:
            continue
        if _module != _name:
            EDGES[_name].add(_module)
        if _taken and _taken.startswith("_") and not _taken.startswith("__"):
            PRIVATE.append(f"{_name} imports {_module}.{_taken}")


def test_no_import_cycle():
    try:
        TopologicalSorter(EDGES).prepare()
    except CycleError as error:
        cycle = error.args[1][::-1]  # graphlib lists a node after the one it depends on
        pytest.fail(f"import cycle: {' imports '.join(cycle)}")


@pytest.mark.parametrize(("app", "forbidden"), [("synth", ("review",)), ("core", ("synth", "review"))])
def test_lower_layers_do_not_import_higher_ones(app, forbidden):
    wrong = [
        f"{module} -> {target}"
        for module, targets in EDGES.items()
        if module.split(".")[0] == app
        for target in targets
        if target.split(".")[0] in forbidden
    ]
    assert not wrong


def test_services_never_import_tasks():
    """Tasks import services; an app's ready() registers them for the services that queue work."""
    wrong = [
        f"{module} -> {target}"
        for module, targets in EDGES.items()
        for target in targets
        if target.endswith(".tasks") and not module.endswith((".tasks", ".apps"))
    ]
    assert not wrong


def test_no_module_imports_another_modules_private_name():
    assert not PRIVATE
