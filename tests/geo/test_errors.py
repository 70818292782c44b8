"""One exception hierarchy, one exit-code table, one declaration per CLI option."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import click
import pytest

import despro.errors as errors
from despro.cli.main import main
from despro.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_LOCKED,
    ConfigError,
    DesproError,
    FetchError,
    InfeasibleError,
    InputError,
    LockedError,
    MissingConfigError,
    MissingFileError,
    exit_code,
)

ROOT = Path(__file__).resolve().parents[2]


def test_every_exception_class_lives_in_errors():
    elsewhere = []
    for folder in ("geo", "layers"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == ROOT / "geo" / "errors.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef) and node.name.endswith(("Error", "Exception")):
                    elsewhere.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.name}")
    assert not elsewhere, "exception classes outside geo/errors.py:\n" + "\n".join(elsewhere)


def test_builtins_are_mixed_in():
    assert issubclass(InputError, ValueError) and issubclass(ConfigError, ValueError)
    missing = MissingFileError("villages file not found", file="/d/v.gpkg", fix="check the path")
    assert isinstance(missing, FileNotFoundError) and isinstance(missing, InputError)
    assert missing.filename == "/d/v.gpkg"
    # OSError's "[Errno 2] ..." form must not replace despro's one-line message
    assert str(missing) == "/d/v.gpkg: villages file not found. Fix: check the path"
    assert str(MissingConfigError("config file not found", file="x.toml")) == (
        "x.toml: config file not found"
    )
    assert issubclass(FetchError, OSError) and str(FetchError("u: HTTP 404")) == "u: HTTP 404"
    err = InfeasibleError("only 3 villages are eligible", "size", "widen --tiers")
    assert err.constraint == "size" and "selection.size" in str(err) and "Fix: widen" in str(err)


@pytest.mark.parametrize(
    ("err", "code"),
    [
        (InputError("bad"), EXIT_BAD_INPUT),
        (MissingFileError("gone"), EXIT_BAD_INPUT),
        (InfeasibleError("no", "size"), EXIT_BAD_INPUT),
        (DesproError("x"), EXIT_BAD_INPUT),
        (FetchError("lost"), EXIT_FAILURE),
        (LockedError("held"), EXIT_LOCKED),
        (KeyError("bug"), EXIT_FAILURE),
    ],
)
def test_exit_code_table(err, code):
    assert exit_code(err) == code


def test_exit_codes_are_declared_once():
    """No CLI module defines its own exit-code constants or calls sys.exit with a number."""
    for path in (ROOT / "geo" / "cli").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "EXIT_" not in text.replace("errors.EXIT_CODES", "").replace("EXIT_UNCHANGED", ""), (
            path
        )
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "exit":
                assert not isinstance(node.args[0], ast.Constant), f"{path}:{node.lineno}"
    assert set(errors.EXIT_CODES.values()) <= {EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_LOCKED}


def _commands(group: click.Group, prefix: str = "despro"):
    for name, cmd in group.commands.items():
        yield f"{prefix} {name}", cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, f"{prefix} {name}")


def test_every_option_has_help():
    missing = [
        f"{path} {opt.opts[0]}"
        for path, cmd in _commands(main)
        for opt in cmd.params
        if isinstance(opt, click.Option) and not opt.hidden and not (opt.help or "").strip()
    ]
    assert not missing, "options without help text: " + ", ".join(missing)


def test_shared_options_are_declared_once():
    """--config, --output-dir, --maps-dir, --lang and --quiet come from despro.cli.options."""
    for path in (ROOT / "geo" / "cli").glob("*.py"):
        if path.name == "options.py":
            continue
        text = path.read_text(encoding="utf-8")
        for flag in ("--config", "--output-dir", "--maps-dir", "--lang", "--quiet", "--engine"):
            assert f'"{flag}"' not in text, f"{path.name} declares {flag} again"


def test_run_job_is_the_public_api():
    import despro
    from despro.pipeline.job import run_job

    assert despro.run_job is run_job and "run_job" in despro.__all__
    params = inspect.signature(run_job).parameters
    for name in ("config", "output_dir", "maps_dir", "lang", "select"):
        assert name in params


def test_run_job_selects_without_writing_tables(sample_config, tmp_path):
    from despro.pipeline.job import run_job

    cfg = sample_config
    job = run_job(
        cfg,
        output_dir=tmp_path / "out",
        selection=cfg.selection.model_copy(update={"size": 4}),
        marginal=False,
        tables=False,
        maps=False,
    )
    assert len(job.plan.shortlist) == 4
    assert job.outputs == {} and job.map_page is None
    assert job.selection_dir == tmp_path / "out" / "selection"
    assert job.selection_files["shortlist_optimised.csv"].is_file()
    assert not (tmp_path / "out" / "villages.parquet").exists()
    assert cfg.selection.size != 4  # the caller's config is not changed
