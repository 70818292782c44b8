"""Every public function of ``despro`` (``geo/``) and ``despro.layers`` (``layers/``) is typed.

The test parses each module with :mod:`ast` (nothing is imported) and fails naming the
file, the line and the function when a public function or method lacks an annotation on
a parameter or on its return. The modules keep ``from __future__ import annotations``,
so the hints cost nothing at run time; names needed only for hints are imported under
``TYPE_CHECKING``.

Public means: the module's file name does not start with ``_`` (``__init__.py`` counts
as the package itself and is public), no folder on its path starts with ``_``, the
function's name does not start with ``_``, and it is defined at module level or in a
public class at module level. Exemptions, and why:

- ``self`` and ``cls``: their type is the class itself.
- ``*args`` and ``**kwargs``: they pass arguments through to another callable.
- functions nested inside functions: they are not reachable from outside.
- the parameters listed in :data:`UNTYPED`: engine functions that take a pipeline
  ``Result``; the engine must not import ``despro.pipeline`` even for hints
  (tests/test_architecture.py), so the parameter stays bare and its docstring names
  the type.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: source folders checked (pyproject.toml ``package-dir``: geo -> despro, layers -> despro.layers)
FOLDERS = ("geo", "layers")

#: (file relative to the repository, function, parameter) left unannotated on purpose:
#: an engine module that takes a pipeline ``Result`` (see the module docstring).
UNTYPED: frozenset[tuple[str, str, str]] = frozenset(
    {
        ("geo/select/agents.py", "candidate_sites", "result"),
        ("geo/select/agents.py", "plan_agents", "result"),
        ("geo/select/pilots.py", "plan_pilots", "result"),
        ("geo/select/problem.py", "select_pilots", "result"),
        ("geo/select/readiness_model.py", "default_features", "result"),
        ("geo/select/readiness_model.py", "readiness_model", "result"),
        ("geo/select/sensitivity.py", "sensitivity", "result"),
        ("geo/rollout/api.py", "plan", "result"),
        ("geo/rollout/problem.py", "inputs_from_result", "result"),
    }
)


def _public_module(path: Path, folder: Path) -> bool:
    parts = path.relative_to(folder).parts
    if any(part.startswith("_") for part in parts[:-1]):
        return False
    return path.name == "__init__.py" or not path.name.startswith("_")


def _public_functions(tree: ast.Module):
    """Yield ``(qualified name, node)`` of the public functions and methods of a module."""
    funcs = (ast.FunctionDef, ast.AsyncFunctionDef)
    for node in tree.body:
        if isinstance(node, funcs) and not node.name.startswith("_"):
            yield node.name, node
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if isinstance(item, funcs) and not item.name.startswith("_"):
                    yield f"{node.name}.{item.name}", item


def missing_hints(path: Path, rel: str) -> list[str]:
    """Return one line per missing annotation in the public functions of ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    problems = []
    for name, node in _public_functions(tree):
        args = node.args
        params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
        is_method = "." in name and not any(
            isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list
        )
        if is_method and params and params[0].arg in ("self", "cls"):
            params = params[1:]
        bare = [
            p.arg
            for p in params
            if p.annotation is None and (rel, name.split(".")[-1], p.arg) not in UNTYPED
        ]
        if bare:
            problems.append(f"{rel}:{node.lineno} {name}(): no hint on {', '.join(bare)}")
        if node.returns is None:
            problems.append(f"{rel}:{node.lineno} {name}(): no return hint")
    return problems


def _modules() -> list[Path]:
    paths = []
    for folder_name in FOLDERS:
        folder = ROOT / folder_name
        paths += [p for p in sorted(folder.rglob("*.py")) if _public_module(p, folder)]
    return paths


def test_modules_are_found():
    rels = {p.relative_to(ROOT).as_posix() for p in _modules()}
    assert "geo/pipeline/runner.py" in rels
    assert "layers/census.py" in rels
    assert not any(Path(r).name.startswith("_") and not r.endswith("__init__.py") for r in rels)


@pytest.mark.parametrize("folder", FOLDERS)
def test_public_functions_have_type_hints(folder):
    problems = []
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(folder + "/"):
            problems += missing_hints(path, rel)
    assert not problems, "public functions without type hints:\n" + "\n".join(problems)


def test_checker_catches_missing_hints(tmp_path):
    source = (
        "def typed(a: int, *args, b: str = '', **kw) -> int:\n    return a\n"
        "def bare_param(a, b: int) -> None:\n    pass\n"
        "def bare_return(a: int):\n    pass\n"
        "def _private(a):\n    pass\n"
        "class C:\n"
        "    def method(self, x) -> None:\n        pass\n"
        "    @classmethod\n    def make(cls) -> 'C':\n        return cls()\n"
        "    def _hidden(self, y):\n        pass\n"
        "def outer() -> None:\n    def inner(z):\n        pass\n"
    )
    path = tmp_path / "mod.py"
    path.write_text(source)
    assert missing_hints(path, "mod.py") == [
        "mod.py:3 bare_param(): no hint on a",
        "mod.py:5 bare_return(): no return hint",
        "mod.py:10 C.method(): no hint on x",
    ]
    folder = tmp_path
    (tmp_path / "_private.py").write_text("")
    (tmp_path / "pkg").mkdir()
    assert not _public_module(tmp_path / "_private.py", folder)
    assert _public_module(tmp_path / "pkg" / "__init__.py", folder)
    assert not _public_module(tmp_path / "_sub" / "mod.py", folder)


def test_exemptions_are_current():
    """Every :data:`UNTYPED` entry names a public function whose parameter is still bare."""
    stale = []
    for rel, func, param in sorted(UNTYPED):
        tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
        bare = {
            p.arg
            for name, node in _public_functions(tree)
            if name == func
            for p in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            if p.annotation is None
        }
        if param not in bare:
            stale.append(f"{rel} {func}({param}): not a bare parameter of a public function")
    assert not stale, "\n".join(stale)
