"""Download open datasets into a local cache: Ookla tiles, WorldPop rasters, geoBoundaries.

Used by ``despro fetch`` (:mod:`despro.cli.fetch`); nothing here touches the
network until a function is called. Every download

* goes to ``<name>.part`` first and is renamed into place only when complete, so
  the cache never holds half a file under its real name;
* resumes an interrupted ``.part`` with an HTTP ``Range`` request (a server that
  ignores the range sends the whole file again, which is handled);
* is checked against the server's ``Content-Length`` and recorded with its sha256,
  size, URL and time in ``<cache>/despro-fetch.json``; a file already in the cache
  with a matching checksum is not downloaded again.

Sources (public, no key needed):

* Speedtest by Ookla open data, one Parquet per quarter and network type
  (``fixed`` / ``mobile``), worldwide; ``bbox`` writes a clipped copy for the region;
* WorldPop population counts per ~100 m pixel for a country (ISO3), GeoTIFF;
* geoBoundaries (gbOpen) boundaries for a country and ADM level, GeoJSON, located
  through the geoBoundaries API.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from despro._hashing import sha256
from despro.config.env import CACHE_ENV
from despro.errors import FetchError

OOKLA_BASE = "https://ookla-open-data.s3.amazonaws.com"
WORLDPOP_BASE = "https://data.worldpop.org"
GEOBOUNDARIES_BASE = "https://www.geoboundaries.org"
INDEX = "despro-fetch.json"
USER_AGENT = "despro-fetch (https://github.com/; open-data research use)"
WORLDPOP_PRODUCTS = {
    # people per pixel (~100 m), built-up constrained: 2020 only
    "constrained": "GIS/Population/Global_2000_2020_Constrained/2020/BSGM/{ISO}/"
    "{iso}_ppp_2020_constrained.tif",
    # people per pixel (~100 m), every pixel, 2000-2020
    "unconstrained": "GIS/Population/Global_2000_2020/{year}/{ISO}/{iso}_ppp_{year}.tif",
    # the same, adjusted to UN national totals
    "unconstrained-unadj": "GIS/Population/Global_2000_2020/{year}/{ISO}/"
    "{iso}_ppp_{year}_UNadj.tif",
}


@dataclass
class Fetched:
    """One file in the cache.

    Attributes
    ----------
    path : Path
    url : str
    sha256 : str
    bytes : int
    status : str
        'downloaded', 'resumed' (a partial download was completed) or 'cached'.
    """

    path: Path
    url: str
    sha256: str
    bytes: int
    status: str


def default_cache() -> Path:
    """Download folder: ``$DESPRO_CACHE``, else ``$XDG_CACHE_HOME/despro``, else
    ``~/.cache/despro``.

    The same environment variable names a run's cache folder when ``[run] cache_dir`` is
    not set (:meth:`despro.config.settings.Config.cache_path`).
    """
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "despro"


def _index(cache: Path) -> dict:
    f = Path(cache) / INDEX
    if not f.is_file():
        return {}
    try:
        return json.loads(f.read_text("utf-8"))
    except json.JSONDecodeError:
        return {}  # a damaged index only costs a re-check of the checksums


def _record(cache: Path, fetched: Fetched, **extra) -> None:
    from despro.io.outputs import write_atomic_text

    idx = _index(cache)
    rel = Path(fetched.path).resolve().relative_to(Path(cache).resolve()).as_posix()
    idx[rel] = {
        "url": fetched.url,
        "sha256": fetched.sha256,
        "bytes": fetched.bytes,
        "fetched_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        **extra,
    }
    write_atomic_text(Path(cache) / INDEX, json.dumps(idx, indent=2, sort_keys=True))


def _open(url: str, offset: int, timeout: float):
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if offset:
        req.add_header("Range", f"bytes={offset}-")
    try:
        return urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:  # nothing left to send: the part may be complete
            return err
        raise FetchError(f"{url}: HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise FetchError(
            f"{url}: cannot connect ({reason}); check the network and run again"
        ) from None


def download(
    url: str,
    dest: Path,
    cache: Path,
    *,
    timeout: float = 60.0,
    chunk: int = 1 << 20,
    progress: Callable[[int, int | None], None] | None = None,
    **record,
) -> Fetched:
    """Download ``url`` to ``dest`` (inside ``cache``), resuming a ``.part`` file.

    Parameters
    ----------
    url : str
    dest : Path
        Final path; ``dest.part`` holds the bytes until the file is complete.
    cache : Path
        The cache root holding the checksum index.
    progress : callable(done_bytes, total_bytes or None), optional
    **record
        Extra fields stored with the file in the index (source, vintage ...).

    Raises
    ------
    FetchError
        Connection failure, HTTP error, or a response shorter than announced (the
        ``.part`` file is kept: run again to resume).
    """
    dest = Path(dest)
    known = _index(cache).get(dest.resolve().relative_to(Path(cache).resolve()).as_posix())
    if dest.is_file() and known and known.get("url") == url:
        digest = sha256(dest)
        if digest == known["sha256"]:
            return Fetched(dest, url, digest, dest.stat().st_size, "cached")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.is_file() else 0
    resp = _open(url, offset, timeout)
    status = getattr(resp, "status", None) or resp.getcode()
    total = None
    with resp:
        if status == 416:  # Range beyond the end: complete if the sizes agree
            m = re.match(r"bytes \*/(\d+)", resp.headers.get("Content-Range", ""))
            if not (m and int(m.group(1)) == offset):
                part.unlink(missing_ok=True)
                return download(
                    url, dest, cache, timeout=timeout, chunk=chunk, progress=progress, **record
                )
            total = offset
        else:
            if status == 206:
                m = re.match(r"bytes (\d+)-\d+/(\d+|\*)", resp.headers.get("Content-Range", ""))
                if not m or int(m.group(1)) != offset:
                    raise FetchError(
                        f"{url}: the server resumed at the wrong byte; delete {part} and run again"
                    )
                total = int(m.group(2)) if m.group(2) != "*" else None
                mode = "ab"
            else:  # 200: the whole file (the server ignored or was not asked a range)
                offset, mode = 0, "wb"
                length = resp.headers.get("Content-Length")
                total = int(length) if length is not None else None
            done = offset
            with open(part, mode) as f:
                try:
                    while b := resp.read(chunk):
                        f.write(b)
                        done += len(b)
                        if progress:
                            progress(done, total)
                except (OSError, urllib.error.URLError, http.client.HTTPException) as err:
                    raise FetchError(
                        f"{url}: connection lost after {done:,} bytes ({err}); run again to resume"
                    ) from None
            if total is not None and done < total:
                raise FetchError(f"{url}: got {done:,} of {total:,} bytes; run again to resume")
    os.replace(part, dest)
    fetched = Fetched(
        dest, url, sha256(dest), dest.stat().st_size, "resumed" if offset else "downloaded"
    )
    _record(cache, fetched, **record)
    return fetched


def ookla_url(year: int, quarter: int, kind: str = "fixed", base_url: str = OOKLA_BASE) -> str:
    """URL of Ookla's open-data Parquet for a quarter and network type."""
    if quarter not in (1, 2, 3, 4):
        raise FetchError(f"quarter must be 1-4, got {quarter}")
    if kind not in ("fixed", "mobile"):
        raise FetchError(f"Ookla network type is 'fixed' or 'mobile', got {kind!r}")
    month = 3 * quarter - 2
    return (
        f"{base_url.rstrip('/')}/parquet/performance/type={kind}/year={year}/"
        f"quarter={quarter}/{year}-{month:02d}-01_performance_{kind}_tiles.parquet"
    )


def fetch_ookla(
    cache: Path,
    year: int,
    quarter: int,
    kind: str = "fixed",
    bbox: tuple[float, float, float, float] | None = None,
    base_url: str = OOKLA_BASE,
    **kw,
) -> list[Fetched]:
    """Download one quarter of Ookla tiles; with ``bbox`` also write the region's tiles.

    Returns the worldwide file and, with ``bbox`` (lon / lat: minx, miny, maxx,
    maxy), a clipped copy ``..._<bbox>.parquet`` holding the tiles that touch the
    box (the file to put in ``layers.broadband.tiles``).
    """
    url = ookla_url(year, quarter, kind, base_url)
    dest = Path(cache) / "ookla" / kind / url.rsplit("/", 1)[1]
    got = download(
        url,
        dest,
        cache,
        source="Speedtest by Ookla open data (CC BY-NC-SA 4.0)",
        vintage=f"{year}-Q{quarter}",
        **kw,
    )
    out = [got]
    if bbox is not None:
        tag = "_".join(f"{v:g}" for v in bbox)
        clipped = dest.with_name(f"{dest.stem}_{tag}.parquet")
        n = clip_ookla(dest, clipped, bbox)
        f = Fetched(clipped, url, sha256(clipped), clipped.stat().st_size, got.status)
        _record(
            cache,
            f,
            source=f"{dest.name} clipped to bbox {list(bbox)}",
            vintage=f"{year}-Q{quarter}",
            tiles=n,
            parent_sha256=got.sha256,
        )
        out.append(f)
    return out


def clip_ookla(src: Path, dest: Path, bbox: tuple[float, float, float, float]) -> int:
    """Write the tiles of ``src`` touching ``bbox`` to ``dest`` (row group by row group)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from despro.layers.broadband import quadkey_bounds

    minx, miny, maxx, maxy = bbox
    pf = pq.ParquetFile(src)
    if "quadkey" not in pf.schema_arrow.names:
        raise FetchError(f"{src}: no 'quadkey' column; is it an Ookla tile file?")
    parts = []
    for i in range(pf.num_row_groups):
        t = pf.read_row_group(i)
        b = quadkey_bounds(t.column("quadkey").to_numpy(zero_copy_only=False))
        hit = (b[:, 2] >= minx) & (b[:, 0] <= maxx) & (b[:, 3] >= miny) & (b[:, 1] <= maxy)
        if hit.any():
            parts.append(t.filter(pa.array(hit)))
    table = pa.concat_tables(parts) if parts else pf.schema_arrow.empty_table()
    tmp = dest.with_name(dest.name + ".part")
    pq.write_table(table, tmp)
    os.replace(tmp, dest)
    return table.num_rows


def worldpop_url(
    iso3: str = "IDN", year: int = 2020, product: str = "constrained", base_url: str = WORLDPOP_BASE
) -> str:
    """URL of a WorldPop population-count GeoTIFF (see :data:`WORLDPOP_PRODUCTS`)."""
    if product not in WORLDPOP_PRODUCTS:
        raise FetchError(f"WorldPop product is one of {sorted(WORLDPOP_PRODUCTS)}, got {product!r}")
    if product == "constrained" and year != 2020:
        raise FetchError(
            "WorldPop's constrained counts exist for 2020 only; use year 2020 or "
            "product 'unconstrained'"
        )
    if not 2000 <= year <= 2020:
        raise FetchError(f"WorldPop Global_2000_2020 covers 2000-2020, got {year}")
    path = WORLDPOP_PRODUCTS[product].format(ISO=iso3.upper(), iso=iso3.lower(), year=year)
    return f"{base_url.rstrip('/')}/{path}"


def fetch_worldpop(
    cache: Path,
    iso3: str = "IDN",
    year: int = 2020,
    product: str = "constrained",
    base_url: str = WORLDPOP_BASE,
    **kw,
) -> Fetched:
    """Download a WorldPop population-count raster for a country."""
    url = worldpop_url(iso3, year, product, base_url)
    dest = Path(cache) / "worldpop" / url.rsplit("/", 1)[1]
    return download(
        url, dest, cache, source=f"WorldPop {product} (CC BY 4.0)", vintage=str(year), **kw
    )


def fetch_geoboundaries(
    cache: Path,
    iso3: str = "IDN",
    level: int = 2,
    release: str = "gbOpen",
    base_url: str = GEOBOUNDARIES_BASE,
    timeout: float = 60.0,
    **kw,
) -> Fetched:
    """Download geoBoundaries polygons for a country and ADM level (GeoJSON).

    Asks the geoBoundaries API (``/api/current/<release>/<ISO3>/ADM<level>/``) for
    the file's address, then downloads it; the API's year, source and licence go
    into the cache index.
    """
    api = f"{base_url.rstrip('/')}/api/current/{release}/{iso3.upper()}/ADM{level}/"
    resp = _open(api, 0, timeout)
    with resp:
        try:
            meta = json.loads(resp.read().decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise FetchError(f"{api}: the geoBoundaries API did not return JSON") from None
    if isinstance(meta, list):
        meta = meta[0] if meta else {}
    url = meta.get("gjDownloadURL")
    if not url:
        raise FetchError(f"{api}: no 'gjDownloadURL' in the answer; check the ISO3 code and level")
    dest = Path(cache) / "geoboundaries" / iso3.upper() / url.rsplit("/", 1)[1]
    return download(
        url,
        dest,
        cache,
        timeout=timeout,
        source=f"geoBoundaries {release} ({meta.get('boundaryLicense', 'see geoboundaries.org')})",
        vintage=str(meta.get("boundaryYearRepresented", "unknown")),
        boundary_source=meta.get("boundarySource", ""),
        **kw,
    )
