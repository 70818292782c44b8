"""National cells in a notebook: deck.gl layers over GeoArrow (lonboard, an optional extra).

folium draws every hexagon as GeoJSON in the page and stalls long before the 2.5 million
cells of a national run; lonboard hands Arrow buffers to deck.gl on the GPU, and its
``H3HexagonLayer`` draws cells from their 64-bit H3 ids alone, so no polygon is built.
Install with ``pip install despro[lonboard]``; then::

    r.explore(engine="lonboard")          # cells by village_score, villages by tier
    despro.io.lonboard_map.cell_layer(r, "pct_area_4g_coverage")

Colours: tiers in the colour-blind-safe colours of the map site and QGIS styles; numbers
on a viridis ramp (scores and percentages on 0-100); missing values transparent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from despro.config.vocab import TIERS

if TYPE_CHECKING:
    from despro.pipeline.runner import Result

#: above this many villages :func:`explore` leaves the village polygons out unless asked
VILLAGE_LIMIT = 20_000
MISSING = (0, 0, 0, 0)


def _require() -> Any:
    try:
        import lonboard
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "lonboard is not installed: pip install 'despro[lonboard]' (or use "
            "r.explore() with folium for a few thousand villages)"
        ) from exc
    return lonboard


def _hex_rgba(colour: str, alpha: int) -> tuple[int, int, int, int]:
    h = colour.lstrip("#")
    return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), alpha)


def colours(
    values: pd.Series,
    vmin: float | None = None,
    vmax: float | None = None,
    alpha: int = 200,
) -> np.ndarray:
    """RGBA colours (``uint8``, n x 4) for a column: tiers by their colours, numbers on viridis.

    Parameters
    ----------
    values : Series
        Tier names, or numbers (``NaN`` = missing, drawn transparent).
    vmin, vmax : float, optional
        Ends of the ramp (default: the values' 2nd and 98th percentiles; 0-100 for a column
        named ``score``, ``village_score`` or ``pct_*``).
    alpha : int
        Opacity 0-255 of the drawn values.

    Returns
    -------
    ndarray
        ``uint8`` array of shape (n, 4).
    """
    from despro.pipeline.analysis import TIER_COLOURS

    out = np.zeros((len(values), 4), dtype=np.uint8)
    if not pd.api.types.is_numeric_dtype(values):
        text = values.astype(object).to_numpy()
        for tier in TIERS:
            out[text == tier] = _hex_rgba(TIER_COLOURS[tier], alpha)
        return out
    import matplotlib

    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    known = ~np.isnan(x)
    name = str(values.name or "")
    if name in ("score", "village_score", "score_best") or name.startswith("pct_"):
        lo, hi = 0.0, 100.0
    elif known.any():
        lo, hi = np.percentile(x[known], [2, 98])
    else:
        lo, hi = 0.0, 1.0
    lo = lo if vmin is None else vmin
    hi = hi if vmax is None else vmax
    scaled = np.clip((x[known] - lo) / ((hi - lo) or 1.0), 0, 1)
    rgba = matplotlib.colormaps["viridis"](scaled, bytes=True)
    rgba[:, 3] = alpha
    out[known] = rgba
    return out


def cell_layer(result: Result, column: str = "village_score", **kwargs: object) -> Any:
    """The run's H3 cells as one deck.gl layer, coloured by ``column``.

    Built from the cells' 64-bit ids and one value column (no hexagon polygons), so a
    national run's 2.5 million cells fit in a notebook.

    Parameters
    ----------
    result : Result
    column : str
        A cell column (``village_score`` 0-100, ``pct_area_4g_coverage`` percent,
        ``download_mbps`` Mbps, ...).
    **kwargs
        Passed to :class:`lonboard.H3HexagonLayer` (``opacity``, ``pickable``...).

    Returns
    -------
    lonboard.H3HexagonLayer
    """
    lonboard = _require()
    import pyarrow as pa

    cols = result.cell_columns
    if column not in cols.columns:
        raise KeyError(f"no cell column {column!r}; cell columns: {', '.join(cols.columns)}")
    ids = cols["h3_int"].to_numpy(np.uint64)
    table = pa.table({"h3": pa.array(ids, pa.uint64()), column: cols[column].to_numpy()})
    kwargs.setdefault("stroked", False)
    kwargs.setdefault("pickable", True)
    return lonboard.H3HexagonLayer(
        table,
        get_hexagon=table["h3"],
        get_fill_color=colours(cols[column].rename(column)),
        **kwargs,
    )


def village_layer(result: Result, column: str = "tier", **kwargs: object) -> Any:
    """The villages as one deck.gl polygon layer coloured by ``column`` (tiers by default).

    Parameters
    ----------
    result : Result
    column : str
        A village column (``tier``, ``score``, a variable...).
    **kwargs
        Passed to :meth:`lonboard.PolygonLayer.from_geopandas`.

    Returns
    -------
    lonboard.PolygonLayer
    """
    lonboard = _require()
    v = result.villages
    keep = [c for c in ("village_code", "village_name", "tier", "score", column) if c in v]
    frame = v[list(dict.fromkeys(keep)) + [v.geometry.name]].reset_index(drop=True)
    kwargs.setdefault("get_line_color", (90, 90, 90, 160))
    kwargs.setdefault("line_width_min_pixels", 0.3)
    kwargs.setdefault("pickable", True)
    return lonboard.PolygonLayer.from_geopandas(
        frame, get_fill_color=colours(frame[column].rename(column), alpha=150), **kwargs
    )


def explore(
    result: Result,
    column: str = "tier",
    cells: str | None = "village_score",
    villages: bool | None = None,
    **kwargs: object,
) -> Any:
    """A lonboard map: the cells by ``cells`` and the villages by ``column``.

    Parameters
    ----------
    result : Result
    column : str
        Village column for the village layer (tiers by default).
    cells : str or None
        Cell column for the cell layer (``None``: no cell layer).
    villages : bool, optional
        Draw the village polygons (default: when at most :data:`VILLAGE_LIMIT` villages).
    **kwargs
        Passed to :class:`lonboard.Map` (``basemap_style``, ``view_state``...).

    Returns
    -------
    lonboard.Map
    """
    lonboard = _require()
    layers = []
    if cells is not None:
        layers.append(cell_layer(result, cells))
    if villages is None:
        villages = len(result.villages) <= VILLAGE_LIMIT
    if villages:
        layers.append(village_layer(result, column))
    return lonboard.Map(layers, **kwargs)
