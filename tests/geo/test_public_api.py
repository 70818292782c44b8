"""The public API at the top of the package: ``import despro`` is light and documented."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import despro

FUNCTIONS = [n for n in despro.__all__ if inspect.isfunction(getattr(despro, n, None))]


def test_import_despro_is_light():
    code = "import sys, despro; print('geopandas' in sys.modules, 'numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_every_public_name_resolves():
    for name in despro.__all__:
        assert getattr(despro, name) is not None, name
    assert set(despro.__all__) <= set(dir(despro))
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        despro.nonsense  # noqa: B018


@pytest.mark.parametrize("name", FUNCTIONS)
def test_public_functions_are_typed_and_documented(name):
    fn = getattr(despro, name)
    sig = inspect.signature(fn)
    untyped = [
        p.name
        for p in sig.parameters.values()
        if p.annotation is inspect.Parameter.empty
        and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        and p.name != "result"  # the engine (select) cannot import the pipeline's Result
    ]
    assert not untyped, f"despro.{name}: parameters without a type hint: {untyped}"
    assert sig.return_annotation is not inspect.Signature.empty, f"despro.{name}: no return type"
    doc = inspect.getdoc(fn) or ""
    for section in ("Parameters", "Returns"):
        assert f"{section}\n---" in doc, f"despro.{name}: docstring has no numpydoc {section}"


def test_result_methods_are_typed_and_documented():
    for name, fn in inspect.getmembers(despro.Result, inspect.isfunction):
        if name.startswith("_"):
            continue
        sig = inspect.signature(fn)
        params = [p for p in sig.parameters.values() if p.name != "self"]
        assert all(p.annotation is not inspect.Parameter.empty for p in params), name
        assert sig.return_annotation is not inspect.Signature.empty, name
        doc = inspect.getdoc(fn) or ""
        if params or sig.return_annotation not in ("None", None):
            assert "Parameters\n---" in doc or "Returns\n---" in doc, f"Result.{name}"
