"""``despro fetch``: downloads into a checksummed cache, resumes, never runs at import time.

A local ``http.server`` in a thread plays Ookla's S3 bucket, WorldPop and the
geoBoundaries API, serving fixture files generated here; it honours HTTP
``Range`` requests and can cut a response short or ignore ranges, like real
servers and networks do. Nothing here reaches the internet.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from click.testing import CliRunner

from despro.cli.main import main
from despro.io import fetch
from despro.layers import broadband
from tests.conftest import REPO

SAMPLE = REPO / "data" / "sample"
OOKLA_PATH = (
    "/parquet/performance/type=fixed/year=2024/quarter=2/2024-04-01_performance_fixed_tiles.parquet"
)
WORLDPOP_PATH = (
    "/GIS/Population/Global_2000_2020_Constrained/2020/BSGM/IDN/idn_ppp_2020_constrained.tif"
)
GB_API = "/api/current/gbOpen/IDN/ADM2/"
GB_FILE = "/data/geoBoundaries-IDN-ADM2.geojson"
BBOX = (110.0, -8.1, 110.9, -7.5)


def _tile_bounds(qk: str) -> tuple[float, float, float, float]:
    """Quadkey tile bounds, the textbook way (one key at a time)."""
    x = y = 0
    for i, ch in enumerate(qk):
        bit = len(qk) - i - 1
        x |= (int(ch) & 1) << bit
        y |= ((int(ch) >> 1) & 1) << bit
    n = 2 ** len(qk)

    def lat(t):
        return float(np.degrees(np.arctan(np.sinh(np.pi * (1 - 2 * t / n)))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def _quadkey(lon: float, lat: float, z: int = 16) -> str:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    s = np.sin(np.radians(lat))
    y = int((0.5 - np.log((1 + s) / (1 - s)) / (4 * np.pi)) * n)
    return "".join(str(((x >> b) & 1) | (((y >> b) & 1) << 1)) for b in range(z - 1, -1, -1))


def _ookla_parquet() -> bytes:
    """A worldwide-looking quarter: tiles around Yogyakarta and elsewhere on Earth."""
    rng = np.random.default_rng(4)
    pts = [(110.0 + 0.9 * a, -8.1 + 0.6 * b) for a, b in rng.random((25, 2))]
    pts += [(2.35, 48.85), (-74.0, 40.7), (151.2, -33.9), (106.8, -6.2), (110.95, -7.8)]
    qk = [_quadkey(lo, la) for lo, la in pts]
    table = pa.table(
        {
            "quadkey": qk,
            "tile": [shapely.box(*_tile_bounds(q)).wkt for q in qk],
            "avg_d_kbps": rng.integers(1000, 90000, len(qk)),
            "avg_u_kbps": rng.integers(500, 40000, len(qk)),
            "avg_lat_ms": rng.integers(5, 90, len(qk)),
            "tests": rng.integers(2, 40, len(qk)),
            "devices": np.ones(len(qk), int),
        }
    )
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=7)  # several row groups to clip through
    return sink.getvalue().to_pybytes()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        srv = self.server
        srv.log.append((self.path, self.headers.get("Range")))
        body = srv.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        if callable(body):
            body = body()
        start, rng = 0, self.headers.get("Range")
        if rng and self.path not in srv.ignore_range:
            start = int(re.match(r"bytes=(\d+)-$", rng).group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        payload = body[start:]
        cut = srv.cut_after.pop(self.path, None)
        if cut is not None:  # the network drops: fewer bytes than announced
            self.wfile.write(payload[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    srv.files = {
        OOKLA_PATH: _ookla_parquet(),
        WORLDPOP_PATH: (SAMPLE / "population.tif").read_bytes(),
        GB_API: json.dumps(
            {
                "boundaryISO": "IDN",
                "boundaryType": "ADM2",
                "boundaryYearRepresented": "2020",
                "boundaryLicense": "CC BY 4.0",
                "boundarySource": "test fixture",
                "gjDownloadURL": base + GB_FILE,
            }
        ).encode(),
        GB_FILE: (SAMPLE / "backbone_nodes.geojson").read_bytes(),
    }
    srv.log, srv.cut_after, srv.ignore_range = [], {}, set()
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    srv.base = base
    yield srv
    srv.shutdown()
    srv.server_close()


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def test_ookla_quarter_with_checksum_and_region_clip(server, tmp_path):
    got = fetch.fetch_ookla(tmp_path, 2024, 2, "fixed", BBOX, base_url=server.base)
    world, region = got
    assert world.path.read_bytes() == server.files[OOKLA_PATH]
    assert world.sha256 == _sha(server.files[OOKLA_PATH]) and world.status == "downloaded"
    assert world.path == tmp_path / "ookla" / "fixed" / OOKLA_PATH.rsplit("/", 1)[1]
    # the region's copy: every tile touching the box, nothing else
    full = pq.read_table(world.path).to_pandas()
    touch = [
        q for q in full["quadkey"] if shapely.box(*_tile_bounds(q)).intersects(shapely.box(*BBOX))
    ]
    clipped = pq.read_table(region.path).to_pandas()
    assert sorted(clipped["quadkey"]) == sorted(touch) and 0 < len(touch) < len(full)
    idx = json.loads((tmp_path / fetch.INDEX).read_text())
    rel = world.path.relative_to(tmp_path).as_posix()
    assert idx[rel]["sha256"] == world.sha256 and idx[rel]["vintage"] == "2024-Q2"
    assert idx[rel]["url"] == server.base + OOKLA_PATH
    assert idx[region.path.relative_to(tmp_path).as_posix()]["tiles"] == len(touch)
    # the fetched file is what the broadband layer reads
    tiles = broadband.read_tiles(region.path)
    assert len(tiles) == len(touch) and tiles["tests"].sum() == clipped["tests"].sum()


def test_interrupted_download_resumes_with_a_range_request(server, tmp_path):
    body = server.files[WORLDPOP_PATH]
    server.cut_after[WORLDPOP_PATH] = 3000
    with pytest.raises(fetch.FetchError, match="run again to resume"):
        fetch.fetch_worldpop(tmp_path, base_url=server.base)
    dest = tmp_path / "worldpop" / "idn_ppp_2020_constrained.tif"
    part = dest.with_name(dest.name + ".part")
    assert not dest.exists() and part.stat().st_size == 3000
    got = fetch.fetch_worldpop(tmp_path, base_url=server.base)
    assert server.log[-1] == (WORLDPOP_PATH, "bytes=3000-")
    assert got.status == "resumed" and got.path.read_bytes() == body
    assert got.sha256 == _sha(body) and not part.exists()


def test_server_ignoring_ranges_restarts_the_file(server, tmp_path):
    dest = tmp_path / "worldpop" / "idn_ppp_2020_constrained.tif"
    dest.parent.mkdir(parents=True)
    dest.with_name(dest.name + ".part").write_bytes(b"garbage" * 100)
    server.ignore_range.add(WORLDPOP_PATH)
    got = fetch.fetch_worldpop(tmp_path, base_url=server.base)
    assert server.log[-1] == (WORLDPOP_PATH, "bytes=700-")  # asked, got the whole file
    assert got.path.read_bytes() == server.files[WORLDPOP_PATH]
    assert got.status == "downloaded"


def test_a_complete_part_file_is_finished_without_new_bytes(server, tmp_path):
    """Killed after the last byte but before the rename: the server answers 416."""
    dest = tmp_path / "worldpop" / "idn_ppp_2020_constrained.tif"
    dest.parent.mkdir(parents=True)
    dest.with_name(dest.name + ".part").write_bytes(server.files[WORLDPOP_PATH])
    got = fetch.fetch_worldpop(tmp_path, base_url=server.base)
    assert got.path.read_bytes() == server.files[WORLDPOP_PATH] and got.status == "resumed"


def test_cached_files_are_checked_not_downloaded_again(server, tmp_path):
    first = fetch.fetch_worldpop(tmp_path, base_url=server.base)
    n = len(server.log)
    again = fetch.fetch_worldpop(tmp_path, base_url=server.base)
    assert again.status == "cached" and len(server.log) == n
    first.path.write_bytes(b"tampered")  # a checksum mismatch means: fetch it again
    fixed = fetch.fetch_worldpop(tmp_path, base_url=server.base)
    assert fixed.status == "downloaded" and fixed.sha256 == first.sha256


def test_geoboundaries_through_its_api(server, tmp_path):
    got = fetch.fetch_geoboundaries(tmp_path, "IDN", 2, base_url=server.base)
    assert [p for p, _ in server.log] == [GB_API, GB_FILE]
    assert got.path == tmp_path / "geoboundaries" / "IDN" / "geoBoundaries-IDN-ADM2.geojson"
    assert got.path.read_bytes() == server.files[GB_FILE]
    rec = json.loads((tmp_path / fetch.INDEX).read_text())[
        "geoboundaries/IDN/geoBoundaries-IDN-ADM2.geojson"
    ]
    assert rec["vintage"] == "2020" and "CC BY 4.0" in rec["source"]


def test_urls_follow_the_publishers_patterns():
    assert fetch.ookla_url(2023, 1, "mobile") == (
        "https://ookla-open-data.s3.amazonaws.com/parquet/performance/type=mobile/year=2023/"
        "quarter=1/2023-01-01_performance_mobile_tiles.parquet"
    )
    assert fetch.worldpop_url("IDN", 2015, "unconstrained") == (
        "https://data.worldpop.org/GIS/Population/Global_2000_2020/2015/IDN/idn_ppp_2015.tif"
    )
    with pytest.raises(fetch.FetchError, match="2020 only"):
        fetch.worldpop_url("IDN", 2015, "constrained")
    with pytest.raises(fetch.FetchError, match="quarter must be 1-4"):
        fetch.ookla_url(2023, 5)


def test_cli_fetch_prints_checksums_and_the_config_line(server, tmp_path):
    r = CliRunner().invoke(
        main,
        ["fetch", "worldpop", "--cache-dir", str(tmp_path), "--base-url", server.base, "--quiet"],
    )
    assert r.exit_code == 0, r.output
    sha = _sha(server.files[WORLDPOP_PATH])
    assert f"downloaded {sha[:16]}" in r.stdout
    assert '[population] path = "' in r.stdout
    bad = CliRunner().invoke(
        main,
        [
            "fetch",
            "worldpop",
            "--cache-dir",
            str(tmp_path),
            "--base-url",
            server.base,
            "--year",
            "2019",
            "--product",
            "unconstrained",
            "--quiet",
        ],
    )
    assert bad.exit_code == 1
    assert bad.stderr.strip().count("\n") == 0 and "HTTP 404" in bad.stderr


def test_nothing_is_fetched_at_import_time(monkeypatch):
    calls = []
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: calls.append(a))
    import despro.cli.fetch as cli_fetch
    import despro.cli.main as cli

    for mod in (fetch, cli_fetch, cli):
        importlib.reload(mod)
    assert calls == []
    assert "fetch" in cli.main.commands
    assert set(cli.main.commands["fetch"].commands) == {"ookla", "worldpop", "boundaries"}


def test_default_cache_respects_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DESPRO_CACHE", str(tmp_path / "c"))
    assert fetch.default_cache() == tmp_path / "c"
    monkeypatch.delenv("DESPRO_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert fetch.default_cache() == tmp_path / "x" / "despro"
