"""The JavaScript and CSS a map page loads, all from ``maps/lib`` (no CDN).

Third-party files are not kept in this repository: they come from Python packages
installed with despro (declared in ``pyproject.toml``) and are copied next to the
pages when the site is written:

- Leaflet 1.9.3 (BSD-2-Clause) from ``XStatic-Leaflet``;
- Leaflet.markercluster 1.4.1 (MIT) from ``XStatic-Leaflet-MarkerCluster``;
- despro's own ``despro.js`` / ``despro.css`` from this package (``geo/static``).

Pages refer to them by relative URLs (``lib/leaflet/leaflet.js``), so a site copied
or opened from disk renders with no internet access. :class:`OfflineMap` is a
folium Map whose default links point there instead of folium's CDNs (folium's
jQuery, Bootstrap and awesome-markers are not loaded: the pages do not use them).
"""

from __future__ import annotations

import importlib.util
import shutil
from importlib import resources
from pathlib import Path

import folium

from despro.errors import DesproError

LIB = "lib"

# (package holding the files, its data folder, folder under maps/lib, files and folders)
SOURCES = (
    ("xstatic.pkg.leaflet", "data", "leaflet", ("leaflet.js", "leaflet.css", "images")),
    (
        "xstatic.pkg.leaflet_markercluster",
        "data",
        "markercluster",
        ("leaflet.markercluster.js", "MarkerCluster.css", "MarkerCluster.Default.css"),
    ),
    ("despro.mapsite", "static", "despro", ("despro.js", "despro.css")),
)

JS = (
    ("leaflet", f"{LIB}/leaflet/leaflet.js"),
    ("markercluster", f"{LIB}/markercluster/leaflet.markercluster.js"),
    ("despro", f"{LIB}/despro/despro.js"),
)
CSS = (
    ("leaflet_css", f"{LIB}/leaflet/leaflet.css"),
    ("markercluster_css", f"{LIB}/markercluster/MarkerCluster.css"),
    ("markercluster_default_css", f"{LIB}/markercluster/MarkerCluster.Default.css"),
    ("despro_css", f"{LIB}/despro/despro.css"),
)


class OfflineMap(folium.Map):
    """A folium Map that links only the local copies under ``lib/``."""

    default_js = list(JS)
    default_css = list(CSS)


def _source_dir(package: str, folder: str) -> Path:
    try:
        return Path(str(resources.files(package) / folder))
    except ModuleNotFoundError as exc:
        raise DesproError(
            f"map assets: Python package {package!r} is missing; "
            "reinstall despro (pip install -e .) to get its dependencies"
        ) from exc


def copy_assets(maps_dir: Path) -> list[Path]:
    """Copy the page libraries into ``maps_dir/lib``; return the copied paths."""
    copied = []
    for package, folder, dest_name, names in SOURCES:
        src_dir = _source_dir(package, folder)
        dest_dir = Path(maps_dir) / LIB / dest_name
        for name in names:
            src, dest = src_dir / name, dest_dir / name
            if not src.exists():
                raise DesproError(f"map assets: {src} not found in package {package!r}")
            if src.is_dir():
                shutil.copytree(src, dest, dirs_exist_ok=True)
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
            copied.append(dest)
    return copied


# --- the national WebGL map (despro.mapsite.national) ------------------------------------

#: (installed package, its folder holding the files, folder under maps/lib, files);
#: found with importlib.util.find_spec, so the package is never imported (maplibre's
#: Python side warns about optional frameworks on import)
GL_SOURCES = (
    ("maplibre", "srcjs", "maplibre", ("maplibre-gl.js", "maplibre-gl.css")),
    (
        "despro.mapsite",
        "static",
        "despro",
        ("despro-gl.js", "despro-gl-cells.js", "despro-gl-plan.js", "despro-gl.css"),
    ),
)


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DesproError(
            f"map assets: Python package {package!r} is missing; "
            "reinstall despro (pip install -e .) to get its dependencies"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def copy_gl_assets(maps_dir: Path) -> list[Path]:
    """Copy MapLibre GL JS (PyPI package ``maplibre``, BSD-3-Clause) and despro's
    ``despro-gl.js`` / ``despro-gl.css`` into ``maps_dir/lib``; return the copied paths."""
    copied = []
    for package, folder, dest_name, names in GL_SOURCES:
        src_dir = _package_dir(package) / folder
        for name in names:
            src, dest = src_dir / name, Path(maps_dir) / LIB / dest_name / name
            if not src.exists():
                raise DesproError(f"map assets: {name} not found in package {package!r}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
            copied.append(dest)
    return copied
