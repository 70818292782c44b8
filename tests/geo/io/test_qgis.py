"""QGIS itself opens villages.gpkg styled: each layer's default style from ``layer_styles``.

Runs QGIS's own Python (Debian ``python3-qgis``, installed by ``.ci/run``) in a
subprocess: our virtual environment's interpreter is not the one QGIS was built for.
Fails under ``CI=true`` when QGIS is missing, skipped otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

import despro
from despro.config.vocab import TIERS
from despro.io.geopackage import write_geopackage
from despro.pipeline.analysis import TIER_COLOURS

pytestmark = pytest.mark.qgis

#: the interpreter QGIS's Python bindings are installed for (Debian: /usr/bin/python3)
QGIS_PYTHON = os.environ.get("DESPRO_QGIS_PYTHON", "/usr/bin/python3")

SCRIPT = r"""
import json, os, sys
from qgis.core import Qgis, QgsApplication, QgsVectorLayer
app = QgsApplication([], False)
app.initQgis()
out = {"version": Qgis.QGIS_VERSION, "layers": {}}
for name in sys.argv[2:]:
    layer = QgsVectorLayer(f"{sys.argv[1]}|layername={name}", name, "ogr")
    message, ok = layer.loadDefaultStyle()
    r = layer.renderer()
    info = {"valid": layer.isValid(), "features": layer.featureCount(), "loaded": ok,
            "message": message, "type": r.type()}
    if r.type() == "categorizedSymbol":
        info["attr"] = r.classAttribute()
        info["categories"] = [
            [str(c.value()), c.label(), c.symbol().color().name()] for c in r.categories()
        ]
    elif r.type() == "graduatedSymbol":
        info["attr"] = r.classAttribute()
        info["ranges"] = [[g.lowerValue(), g.upperValue()] for g in r.ranges()]
    out["layers"][name] = info
    del layer
print(json.dumps(out))
sys.stdout.flush()
os._exit(0)  # QGIS 3.22 can crash tearing down its providers; the answer is out
"""


def _has_qgis() -> bool:
    if not shutil.which(QGIS_PYTHON) and not os.path.exists(QGIS_PYTHON):
        return False
    probe = subprocess.run(
        [QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True, timeout=120
    )
    return probe.returncode == 0


@pytest.fixture(scope="module")
def qgis_python() -> str:
    if not _has_qgis():
        msg = (
            f"QGIS's Python not found ({QGIS_PYTHON} cannot import qgis.core): "
            "apt-get install python3-qgis (.ci/run does), or set DESPRO_QGIS_PYTHON"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return QGIS_PYTHON


@pytest.fixture(scope="module")
def opened(qgis_python, sample_result, tmp_path_factory) -> dict:
    gpkg = tmp_path_factory.mktemp("qgis") / "villages.gpkg"
    plan = despro.plan_pilots(sample_result, marginal=False)
    write_geopackage(sample_result, gpkg, plan)
    names = ["villages", "cells", "shortlist", "regencies", "provinces", "pilots"]
    names += ["agents", "clusters"]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(gpkg.parent)}
    done = subprocess.run(
        [qgis_python, "-c", SCRIPT, str(gpkg), *names],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_qgis_opens_the_villages_categorized_by_tier(opened, sample_result):
    v = opened["layers"]["villages"]
    assert v["valid"] and v["loaded"], v["message"]
    assert v["features"] == len(sample_result.villages)
    assert v["type"] == "categorizedSymbol" and v["attr"] == "tier"
    assert [c[0] for c in v["categories"]] == list(TIERS)
    assert [c[2] for c in v["categories"]] == [TIER_COLOURS[t].lower() for t in TIERS]
    assert v["categories"][0][1].startswith("siap")


def test_qgis_loads_every_layers_default_style(opened):
    layers = opened["layers"]
    for name, info in layers.items():
        assert info["valid"] and info["loaded"], (name, info["message"])
    assert layers["cells"]["type"] == "graduatedSymbol"
    assert layers["cells"]["attr"] == "village_score" and len(layers["cells"]["ranges"]) == 5
    assert layers["regencies"]["attr"] == "pct_ready_or_near"
    assert layers["pilots"]["attr"] == "tier" and layers["agents"]["attr"] == "n_covered"
    assert layers["clusters"]["type"] == "categorizedSymbol"
    assert layers["clusters"]["attr"] == "category"
