"""Export an in-memory run to PostGIS with the config's ``[output.postgis]`` settings.

:func:`despro.io.postgis.export` writes tables; this module picks the connection and
table settings (command-line values over the config) and builds the tables of a
:class:`~despro.pipeline.runner.Result`. ``despro run`` exports after writing its files
when ``[output.postgis] on_run`` is true (:func:`after_run`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from despro.config.settings import Config, PostgisConfig
from despro.io.postgis import ExportSummary, export, resolve_url
from despro.io.postgis_tables import from_result
from despro.ops.runs import new_run_id

if TYPE_CHECKING:
    from despro.pipeline.runner import Result


def settings(
    cfg: Config | None,
    url: str | None = None,
    schema: str | None = None,
    prefix: str | None = None,
    mode: str | None = None,
) -> dict:
    """Connection and table settings: the given values over ``[output.postgis]``.

    Returns
    -------
    dict
        ``url`` (resolved, see :func:`despro.io.postgis.resolve_url`), ``schema``,
        ``prefix`` and ``mode``.
    """
    pg = (cfg.output.postgis if cfg is not None else None) or PostgisConfig()
    return {
        "url": resolve_url(url or pg.url, None if url else pg.url_env),
        "schema": schema or pg.schema_name,
        "prefix": prefix or pg.prefix,
        "mode": mode or pg.mode,
    }


def export_result(result: Result, out_dir: Path | None = None, **overrides) -> ExportSummary:
    """Export an in-memory run with the config's ``[output.postgis]`` (and ``overrides``).

    Parameters
    ----------
    result : Result
        From :func:`despro.pipeline.runner.run`.
    out_dir : Path, optional
        Where a failed export leaves its fault report.
    **overrides
        ``url``, ``schema``, ``prefix``, ``mode`` over the config's values.
    """
    s = settings(
        result.config, **{k: overrides.get(k) for k in ("url", "schema", "prefix", "mode")}
    )
    tables = from_result(result, new_run_id())
    return export(
        tables, s["url"], schema=s["schema"], prefix=s["prefix"], mode=s["mode"], fault_dir=out_dir
    )


def after_run(result: Result, out_dir: Path) -> ExportSummary | None:
    """Export when the config has ``[output.postgis]`` with ``on_run``; else ``None``."""
    pg = result.config.output.postgis
    if pg is None or not pg.on_run:
        return None
    return export_result(result, out_dir)


def summary_line(s: ExportSummary) -> str:
    """One line: run id, URL (password masked), schema, mode, rows and seconds."""
    rows = ", ".join(f"{k} {v:,}" for k, v in s.rows.items())
    return (
        f"postgis: run {s.run_id} -> {s.url} schema {s.schema} ({s.mode}): {rows} "
        f"in {s.seconds:.1f} s"
    )
