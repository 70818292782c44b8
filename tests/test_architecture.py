"""Import rules: the edges (files, databases, maps, the command line) stay out of the middle.

The package follows the data flow (README, "Architecture"): ``config`` -> ``grid`` ->
``aggregate`` -> ``transfer`` -> ``rules`` -> ``select`` compute arrays and frames;
``pipeline`` wires them to the input ``layers``; ``io``, ``mapsite``, ``ops`` and ``cli``
sit at the edges. This test parses every module under ``geo/`` (the package
``despro``) and ``layers/`` (``despro.layers``) with :mod:`ast` (nothing is imported),
resolves absolute and relative imports wherever they appear (module level, inside
functions, under ``TYPE_CHECKING``, and ``import_module("despro....")`` calls) and
checks them against :data:`RULES`. A failure names the module, the line and the import.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: source folder -> the package it installs as (pyproject.toml ``package-dir``)
SOURCES = {"geo": "despro", "layers": "despro.layers"}

ENGINE = (
    "despro.grid",
    "despro.aggregate",
    "despro.transfer",
    "despro.rules",
    "despro.select",
    "despro.rollout",
    "despro.variables",
    "despro.errors",
    "despro._jit",
)
EDGES = ("despro.io", "despro.mapsite", "despro.cli", "despro.ops", "despro.demo")


@dataclass(frozen=True)
class Rule:
    """Modules under any of ``sources`` import nothing under any of ``forbidden``."""

    name: str
    sources: tuple[str, ...]
    forbidden: tuple[str, ...]
    why: str
    exempt: tuple[str, ...] = ()  # modules allowed to break the rule (say why in ``why``)
    allowed: tuple[str, ...] = ()  # targets allowed by exact name though under ``forbidden``


#: The import rules, one row each. A name covers the module and everything below it.
RULES = (
    Rule(
        "engine is pure",
        ENGINE,
        (*EDGES, "despro.layers", "despro.pipeline", "matplotlib", "click"),
        "the engine turns arrays and frames into arrays and frames; reading inputs "
        "(layers), running (pipeline), writing, drawing and the command line happen "
        "outside it (selection maths returns frames, despro.io.selection writes them)",
    ),
    Rule(
        "config comes first",
        ("despro.config",),
        (*EDGES, "despro.layers", "despro.pipeline"),
        "the config is read before anything runs; it must not pull in the PostGIS sink "
        "(despro.io.postgis), the dask engine (despro.pipeline.dask) or a layer module; "
        "it reaches the layers' settings models only through their registry (despro.layers)",
        allowed=("despro.layers",),
    ),
    Rule(
        "layers through the registry",
        ("despro.pipeline", "despro.mapsite"),
        ("despro.layers",),
        "the pipeline, its engines and the map site find the layers in the registry "
        "(despro.layers.LAYERS), never by a layer module's name, so a new layer is one "
        "module plus one registry line",
        allowed=("despro.layers",),
    ),
    Rule(
        "cache does not write",
        ("despro.pipeline.cache",),
        (*EDGES, "despro.layers"),
        "every step may use the cache, so it depends on no writer (hashing lives in "
        "despro._hashing)",
    ),
    Rule(
        "layers only read",
        ("despro.layers",),
        ("despro.pipeline", "despro.ops", "despro.cli", "despro.demo"),
        "a layer reads and aggregates one input; the pipeline calls it, not the reverse",
    ),
    Rule(
        "cli is the outer edge",
        ("despro",),
        ("despro.cli",),
        "the command line is a thin layer over the Python API; nothing below it "
        "depends on click commands",
        exempt=("despro.cli",),
    ),
)


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    file: Path
    line: int
    target: str  # the imported module, dotted
    text: str  # the statement as written


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def module_name(path: Path, folder: Path, package: str) -> tuple[str, bool]:
    """Dotted name of a source file and whether it is a package ``__init__``."""
    parts = [package, *path.relative_to(folder).with_suffix("").parts]
    is_pkg = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_pkg else parts), is_pkg


def parse_imports(
    source: str, module: str, is_pkg: bool, file: Path, known: set[str]
) -> list[Import]:
    """Every import of ``source`` (a module called ``module``) with its resolved target.

    ``from a import b`` targets ``a.b`` when that is a module in ``known``, else ``a``.
    """
    out: list[Import] = []
    package = module.split(".") if is_pkg else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source, filename=str(file))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.append(Import(module, file, node.lineno, alias.name, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if node.level - 1 >= len(package):
                    raise ValueError(f"{file}:{node.lineno}: relative import beyond the top")
                base = package[: len(package) - (node.level - 1)]
                parent = ".".join([*base, node.module] if node.module else base)
            else:
                parent = node.module or ""
            for alias in node.names:
                sub = f"{parent}.{alias.name}"
                target = sub if sub in known else parent
                text = f"from {'.' * node.level}{node.module or ''} import {alias.name}"
                out.append(Import(module, file, node.lineno, target, text))
        elif (
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "import_module")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
            and node.args
        ):
            arg = node.args[0]
            literal = None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                literal = arg.value
            elif (
                isinstance(arg, ast.JoinedStr)
                and arg.values
                and isinstance(arg.values[0], ast.Constant)
            ):
                literal = str(arg.values[0].value).rstrip(".")
            if literal:
                out.append(
                    Import(module, file, node.lineno, literal, f"import_module({literal!r}...)")
                )
    return out


def all_imports() -> list[Import]:
    files = []
    for folder, package in SOURCES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            files.append((path, *module_name(path, ROOT / folder, package)))
    known = {m for _, m, _ in files}
    out: list[Import] = []
    for path, module, is_pkg in files:
        out += parse_imports(path.read_text(encoding="utf-8"), module, is_pkg, path, known)
    return out


def violations(imports: list[Import], rules=RULES) -> list[str]:
    """One line per broken rule: ``file:line: module imports target (text): rule, why``."""
    bad = []
    for imp in imports:
        for rule in rules:
            if (
                _under(imp.module, rule.sources)
                and not _under(imp.module, rule.exempt)
                and _under(imp.target, rule.forbidden)
                and imp.target not in rule.allowed
            ):
                try:
                    where = imp.file.relative_to(ROOT)
                except ValueError:
                    where = imp.file
                bad.append(
                    f"{where}:{imp.line}: {imp.module} imports {imp.target} "
                    f"(`{imp.text}`) -- rule '{rule.name}': {rule.why}"
                )
    return bad


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return all_imports()


def test_sources_are_found(imports):
    modules = {i.module for i in imports}
    for expected in ("despro.select.pilots", "despro.pipeline.cache", "despro.layers.census"):
        assert expected in modules
    assert len(modules) > 60


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_import_rule(imports, rule):
    bad = violations(imports, (rule,))
    assert not bad, "import rule broken:\n" + "\n".join(bad)


def test_rules_name_real_packages(imports):
    """A typo in the table would make a rule pass vacuously."""
    modules = {i.module for i in imports}
    for rule in RULES:
        for name in (*rule.sources, *rule.forbidden):
            if name.startswith("despro"):
                assert any(_under(m, (name,)) for m in modules), f"{rule.name}: no module {name}"


def test_checker_catches_every_kind_of_import(tmp_path):
    """The checker itself: module-level, in-function, relative and import_module imports."""
    source = (
        "import despro.io.outputs\n"
        "def f():\n"
        "    from despro.mapsite import site\n"
        "    from ..io import postgis\n"
        "    from . import problem\n"
        "    return import_module(f'despro.layers.{name}')\n"
    )
    known = {"despro.mapsite.site", "despro.io.postgis", "despro.select.problem"}
    file = tmp_path / "pilots.py"
    found = parse_imports(source, "despro.select.pilots", False, file, known)
    assert [(i.line, i.target) for i in found] == [
        (1, "despro.io.outputs"),
        (3, "despro.mapsite.site"),
        (4, "despro.io.postgis"),
        (5, "despro.select.problem"),
        (6, "despro.layers"),
    ]
    bad = violations(found)
    assert len(bad) == 4  # the sibling import of despro.select.problem is allowed
    assert bad[0].startswith(f"{file}:1: despro.select.pilots imports despro.io.outputs")
    assert "rule 'engine is pure'" in bad[0]


def test_registry_is_the_only_way_to_the_layers(tmp_path):
    """The pipeline and the config may import the registry, not a layer module."""
    source = "from despro import layers\nfrom despro.layers import villages\n"
    known = {"despro.layers", "despro.layers.villages"}
    for module in ("despro.pipeline.runner", "despro.config.settings"):
        found = parse_imports(source, module, False, tmp_path / "m.py", known)
        bad = violations(found)
        assert len(bad) == 1 and "imports despro.layers.villages" in bad[0]
