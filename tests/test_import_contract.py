"""The layers' import contract, read from the source (nothing is imported to check it but the
names it checks against):

- the engine (`api/scoring/`) imports nothing of the app but itself;
- routers touch no database: nothing of SQLAlchemy or SQLModel, and no table model at run time
  (enums and helpers of `api.models` are fine, and so is a table named in an annotation only,
  imported under `TYPE_CHECKING`: the type of what a service returns);
- services import no router;
- the periods package (`api/services/periods/`) is used through its `__init__` only: elsewhere in
  the app and the benchmarks, nothing imports its modules or a name it does not export, and
  nowhere (its own modules and the tests included) is a private name of it imported or read.
"""

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import api.models
import api.services.periods

ROOT = Path(__file__).resolve().parent.parent
PERIODS = "api.services.periods"


@dataclass(frozen=True)
class Imported:
    module: str  # the module imported, or imported from
    name: str | None  # the name imported from it (None: `import module`)
    alias: str  # what the importing module calls it
    line: int
    type_only: bool  # under `if TYPE_CHECKING:`


def sources(*folders: str) -> Iterator[tuple[str, ast.Module]]:
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT)
            yield str(relative), ast.parse(path.read_text(encoding="utf-8"), str(relative))


def module_name(path: str) -> str:
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def imports(tree: ast.Module) -> Iterator[Imported]:
    type_only_lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                type_only_lines.update(range(inner.lineno, (inner.end_lineno or 0) + 1))
    for node in ast.walk(tree):
        type_only = node_line(node) in type_only_lines
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Imported(alias.name, None, alias.asname or alias.name, node.lineno, type_only)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative imports are not used"
            for alias in node.names:
                yield Imported(
                    node.module or "",
                    alias.name,
                    alias.asname or alias.name,
                    node.lineno,
                    type_only,
                )


def node_line(node: ast.AST) -> int:
    return getattr(node, "lineno", 0)


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def test_the_engine_imports_nothing_of_the_app() -> None:
    found = [
        f"{path}:{i.line} imports {i.module}"
        for path, tree in sources("api/scoring")
        for i in imports(tree)
        if within(i.module, "api") and not within(i.module, "api.scoring")
    ]
    assert found == []


TABLES = {
    name
    for name, value in vars(api.models).items()
    if isinstance(value, type) and hasattr(value, "__table__")
}


def test_routers_import_no_database_layer() -> None:
    found = []
    for path, tree in sources("api/routers"):
        for i in imports(tree):
            if within(i.module, "sqlalchemy") or within(i.module, "sqlmodel"):
                found.append(f"{path}:{i.line} imports {i.module}")
            elif within(i.module, "api.models") and i.name in TABLES and not i.type_only:
                found.append(f"{path}:{i.line} imports the table {i.name}")
    assert found == []


def test_services_import_no_router() -> None:
    found = [
        f"{path}:{i.line} imports {i.module}"
        for path, tree in sources("api/services")
        for i in imports(tree)
        if within(i.module, "api.routers")
        or (i.name and within(f"{i.module}.{i.name}", "api.routers"))
    ]
    assert found == []


def periods_aliases(tree: ast.Module) -> dict[str, str]:
    """Names bound to the periods package or one of its modules, and what they are bound to."""
    bound = {}
    for i in imports(tree):
        target = i.module if i.name is None else f"{i.module}.{i.name}"
        if i.name is None and within(i.module, PERIODS):
            bound[i.alias] = i.module
        elif within(target, PERIODS) and (ROOT / (target.replace(".", "/") + ".py")).exists():
            bound[i.alias] = target
        elif target == PERIODS:
            bound[i.alias] = PERIODS
    return bound


def reads_of(tree: ast.Module, aliases: dict[str, str]) -> Iterator[tuple[str, str, int]]:
    """`alias.name` read anywhere in the module: (the module alias stands for, name, line)."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
        ):
            yield aliases[node.value.id], node.attr, node.lineno


def test_nothing_reads_a_private_name_of_the_periods_package() -> None:
    found = []
    for path, tree in sources("api", "tests", "bench"):
        for i in imports(tree):
            if within(i.module, PERIODS) and i.name is not None and i.name.startswith("_"):
                found.append(f"{path}:{i.line} imports {i.module}.{i.name}")
        for module, name, line in reads_of(tree, periods_aliases(tree)):
            if name.startswith("_"):
                found.append(f"{path}:{line} reads {module}.{name}")
    assert found == []


@pytest.mark.parametrize("folder", ["api", "bench"])
def test_the_periods_package_is_used_through_its_exports(folder: str) -> None:
    exported = set(api.services.periods.__all__)
    found = []
    for path, tree in sources(folder):
        if within(module_name(path), PERIODS):
            continue  # the package's own modules use each other
        for i in imports(tree):
            if within(i.module, PERIODS) and i.module != PERIODS:
                found.append(f"{path}:{i.line} imports the module {i.module}")
            elif i.module == PERIODS and i.name not in exported:
                found.append(f"{path}:{i.line} imports {i.name}, which the package does not export")
        for module, name, line in reads_of(tree, periods_aliases(tree)):
            if module == PERIODS and name not in exported:
                found.append(f"{path}:{line} reads {name}, which the package does not export")
    assert found == []
