"""Build the notebooks from the cells below, execute them and save them with their outputs.

    python notebooks/make_notebooks.py            # every notebook
    python notebooks/make_notebooks.py 02         # those whose name starts with 02

Each notebook runs in a temporary folder (its files land there, not in the repository)
on the bundled synthetic sample, except ``04`` (the real data: ``../shared/data`` next to
the repository, one province of ``examples/indonesia.toml``); ``05`` exports to the
PostgreSQL named by ``DESPRO_POSTGIS_URL`` when it is reachable (build it with one up, so
the saved notebook shows the export). ``tests/end_to_end/test_notebook.py`` executes the
saved notebooks again. Edit the cells here, not in the ``.ipynb`` files.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent

SETUP = """\
import os
from pathlib import Path
{imports}
import despro
from despro.demo.sample import ensure_sample

CONFIG = ensure_sample() / "despro.toml"  # point this at your own despro.toml
OUT = Path(os.environ.get("DESPRO_NOTEBOOK_OUT", "output/notebook"))
TIER_COLOURS = {{"ready": "#009E73", "near-ready": "#56B4E9", "undetermined": "#E69F00",
                "not ready": "#999999"}}
r = despro.run(CONFIG)
print(f"{{len(r.villages)}} villages on {{r.n_cells}} H3 cells")"""
PLOTS = "\nimport matplotlib.pyplot as plt\nimport pandas as pd\n"

MAP = """\
def tier_map(villages, ax=None, title=""):
    ax = ax or plt.subplots(figsize=(7, 6))[1]
    for tier, colour in TIER_COLOURS.items():
        part = villages[villages["tier"] == tier]
        if len(part):
            part.plot(ax=ax, color=colour, edgecolor="white", linewidth=0.3, label=tier)
    ax.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=c) for c in TIER_COLOURS.values()],
              labels=list(TIER_COLOURS), loc="lower left", fontsize=8)
    ax.set_title(title)
    ax.set_axis_off()
    return ax"""

NOTEBOOKS: dict[str, list[tuple[str, str]]] = {
    "01_quickstart": [
        (
            "md",
            """\
# despro quickstart: villages scored against the Despro criteria, from Python

This notebook runs the whole pipeline on the bundled **synthetic** sample (`data/sample/`),
looks at the results as GeoDataFrames, draws them, rolls them up to regencies exactly and
writes the GeoPackage QGIS opens styled. Point `CONFIG` at your own `despro.toml` to do the
same with your data. The next notebooks change thresholds (02) and explain a village (03).""",
        ),
        ("code", SETUP.format(imports=PLOTS)),
        (
            "md",
            """\
## One row per village
`r.villages` is a GeoDataFrame: values in their units, per rule `<rule>_state` (pass / fail /
unknown) and `<rule>_margin`, per criterion `P1_state` ... `I3_state`, `tier`, `score`, `rank`,
and why (`binding_text`, `data_needed_text`).""",
        ),
        ("code", 'r.villages["tier"].value_counts()'),
        (
            "code",
            """\
cols = ["village_name", "regency_name", "tier", "score", "rank", "binding_text"]
r.villages.sort_values("rank")[cols].head(8)""",
        ),
        (
            "md",
            "## The map\nTiers in colour-blind-safe colours, as on the map site and in QGIS.",
        ),
        ("code", MAP + '\n\ntier_map(r.villages, title="Despro tiers, synthetic sample");'),
        (
            "md",
            """\
`r.explore()` (or `r.villages.explore(column="tier")`) gives the same as an interactive
folium map in Jupyter; it is not stored here to keep the notebook small.""",
        ),
        ("code", "m = r.explore()\ntype(m).__name__"),
        (
            "md",
            """\
## The long table: every village x rule
Value, threshold, state, margin and the evidence (level, layer, source, vintage) deciding it.""",
        ),
        (
            "code",
            """\
first = r.villages.sort_values("rank").index[0]
r.criteria[r.criteria.village_code == first][
    ["rule", "variable", "value", "op", "threshold", "state", "margin", "evidence"]
]""",
        ),
        (
            "md",
            """\
## Exact roll-up to regencies
`to_admin` sums numerators and denominators (never averages percentages): a rate carried down
from a regency comes back as published. It keeps names, tier counts and outlines.""",
        ),
        (
            "code",
            """\
reg = r.to_admin("regency")
reg[["regency_name", "villages", "n_ready", "n_near_ready", "n_undetermined", "n_not_ready",
     "pct_households_internet", "pct_households_computer"]]""",
        ),
        (
            "md",
            "## Cells\nThe H3 cells keep additive columns, finished values and per-layer cover.",
        ),
        (
            "code",
            """\
r.cell_columns[["population", "download_mbps", "pct_area_4g_coverage", "backbone_distance_m",
                "broadband__cover"]].describe().T.round(2)""",
        ),
        (
            "md",
            """\
## Files for QGIS, DuckDB and spreadsheets
`villages.gpkg` holds the layers `villages`, `cells`, `shortlist`, `regencies`, `provinces`
(and `pilots`, `agents`, `clusters` with a plan), QGIS styles in `layer_styles` and a
`layer_fields` table saying what each field is. The GeoParquet files carry a `bbox` column and
row groups by province / H3 order.""",
        ),
        (
            "code",
            """\
import pyogrio

plan = despro.plan_pilots(r)
files = despro.write_outputs(r, OUT, plan=plan)
pyogrio.list_layers(OUT / "villages.gpkg")""",
        ),
        (
            "code",
            """\
import sqlite3

with sqlite3.connect(OUT / "villages.gpkg") as con:
    styles = pd.read_sql("SELECT f_table_name, styleName, useAsDefault FROM layer_styles", con)
styles""",
        ),
        (
            "md",
            """\
## The whole job in one call
`despro.run_job` is what `despro demo`, `despro run` and `despro select` do: run, write the
tables, choose the pilots (`[selection]`), write them and draw the map site.""",
        ),
        (
            "code",
            """\
job = despro.run_job(CONFIG, output_dir=OUT, maps_dir=OUT / "maps", select=True)
job.plan.shortlist[["pick", "village_code", "village_name", "tier", "score"]]""",
        ),
    ],
    "02_thresholds_weights_sensitivity": [
        (
            "md",
            """\
# Thresholds, weights and sensitivity, in memory

`r.with_thresholds(...)` and `r.with_weights(...)` return a **new** result re-evaluated from
the villages' values: nothing is read or aggregated again, and the result equals a full rerun
with the changed `despro.toml`. `r.diff(other)` lists the villages whose tier changed and why.""",
        ),
        ("code", SETUP.format(imports=PLOTS)),
        (
            "md",
            """\
## Lower the computer-ownership threshold (I2b: 20 % -> 18 %)
In the sample, I2b binds the near-ready villages: 18 % moves some of them to ready, and some
not-ready villages to near-ready.""",
        ),
        (
            "code",
            """\
r18 = r.with_thresholds(I2b=18)
pd.DataFrame({"Table 1 (I2b 20 %)": r.villages["tier"].value_counts(),
              "I2b 18 %": r18.villages["tier"].value_counts()}).fillna(0).astype(int)""",
        ),
        (
            "code",
            """\
d = r.diff(r18)
d[["village_name", "tier_before", "tier_after", "rank_before", "rank_after", "why"]]""",
        ),
        ("md", "The same as a rerun of the pipeline with `[criteria] thresholds = { I2b = 18 }`:"),
        (
            "code",
            """\
import tomllib

from despro.config.settings import config_from_dict

data = tomllib.loads(CONFIG.read_text())
data.setdefault("criteria", {})["thresholds"] = {"I2b": 18}
rerun = despro.run(config_from_dict(data, base_dir=CONFIG.parent))
same = r18.villages.drop(columns="geometry").equals(rerun.villages.drop(columns="geometry"))
print("identical to a rerun:", same)""",
        ),
        (
            "code",
            MAP
            + """

fig, axes = plt.subplots(1, 2, figsize=(12, 5))
tier_map(r.villages, axes[0], "I2b >= 20 % (Table 1)")
tier_map(r18.villages, axes[1], "I2b >= 18 %")
d.boundary.plot(ax=axes[1], color="black", linewidth=1.2);""",
        ),
        (
            "md",
            """\
## Weights of the composite score
Weights change scores and ranks, never tiers.""",
        ),
        (
            "code",
            """\
rw = r.with_weights(I2=3)
def top8(result):
    return result.villages.sort_values("rank")["village_name"].head(8).to_numpy()


top = pd.DataFrame({"Table 1 weights": top8(r), "I2 weighs 3": top8(rw)})
top""",
        ),
        (
            "md",
            """\
## Sensitivity: tiers as I2b moves from 10 % to 30 %
Each step is one in-memory re-evaluation.""",
        ),
        (
            "code",
            """\
rows = {}
for thr in range(10, 31, 2):
    rows[thr] = r.with_thresholds(I2b=thr).villages["tier"].value_counts()
sweep = pd.DataFrame(rows).T.fillna(0).astype(int)[list(TIER_COLOURS)]
ax = sweep[["ready", "near-ready", "undetermined"]].plot(
    marker="o", color=[TIER_COLOURS[t] for t in ["ready", "near-ready", "undetermined"]])
ax.axvline(20, color="grey", linestyle=":")
ax.set_xlabel("I2b threshold (% households with a computer)")
ax.set_ylabel("villages")
sweep""",
        ),
    ],
    "03_why_not_ready": [
        (
            "md",
            """\
# Why is a village not ready, and what would it take?

`r.explain(code)` gives one village's rules: the value each read, the threshold, the margin,
the evidence that decided it and what would decide it. The villages below are picked from
the data, not by hand.""",
        ),
        ("code", SETUP.format(imports="")),
        (
            "md",
            """\
## A near-ready village: one rule short
The best-ranked near-ready village; its binding rule is the one that keeps it from ready.""",
        ),
        (
            "code",
            """\
v = r.villages
near = v[v["tier"] == "near-ready"].sort_values("rank")
code = near.index[0]
e = r.explain(code)
e""",
        ),
        (
            "code",
            """\
binding = e[e["binding"]].iloc[0]
print(f"{v.loc[code, 'village_name']}: {binding['rule']} reads {binding['value']:.1f} "
      f"{binding['unit']}, threshold {binding['threshold']:g}: {binding['would_decide']}")""",
        ),
        ("md", "What it would take: the same village with the binding threshold at its value."),
        (
            "code",
            """\
what_if = r.with_thresholds(**{binding["rule"]: float(binding["value"])})
print("tier then:", what_if.villages.loc[code, "tier"])
r.diff(what_if)[["village_name", "tier_before", "tier_after", "why"]]""",
        ),
        (
            "md",
            """\
## An undetermined village: data are missing
Its unknown rules say which input would decide it (`data_needed_text`).""",
        ),
        (
            "code",
            """\
und = v[v["tier"] == "undetermined"].sort_values("rank")
code_u = und.index[0]
eu = r.explain(code_u)
print(eu.heading["data needed"])
eu[eu["state"] == "unknown"][["rule", "label", "evidence", "would_decide"]]""",
        ),
        (
            "md",
            """\
## The cells under a village
`r.cells_of(code)` returns the H3 cells it overlaps, with the overlap and the village's share
in each (its transfer weight: population or area).""",
        ),
        (
            "code",
            """\
cells = r.cells_of(code)
ax = cells.plot(column="pct_area_4g_coverage", cmap="viridis", legend=True, figsize=(6, 5),
                edgecolor="white", linewidth=0.5)
v.loc[[code]].boundary.plot(ax=ax, color="black")
ax.set_title(f"{v.loc[code, 'village_name']}: 4G coverage (%) of its cells")
ax.set_axis_off()
cols = ["h3", "overlap_m2", "share_of_village", "pct_area_4g_coverage", "download_mbps"]
cells[cols].round(3)""",
        ),
        (
            "md",
            """\
## Where the data would decide most villages
Per regency: tier counts and the share of villages each missing input leaves undetermined.""",
        ),
        (
            "code",
            """\
reg = r.to_admin("regency", geometry=False)
keep = ("regency_name", "villages", "n_", "pct_undetermined_")
reg[[c for c in reg.columns if c.startswith(keep)]]""",
        ),
    ],
    "04_national_real_data": [
        (
            "md",
            """\
# The real data: one province (or all of Indonesia) from `../shared/data`

`examples/indonesia.toml` scores every Kemendagri village on the shared public files (BPS
Susenas rates, Podes censuses where they exist, modelled 4G coverage, the TeleGeography
backbone). The whole country takes ~3 min and ~6 GB on a 2-core machine, so this notebook
runs **one province** (`code_prefix`; Jambi, which has a Podes census, by default) in about a
minute: set `DESPRO_PROVINCE=""` for the national run. It needs `../shared/data` next to the
repository (README "Data"); without it the first cell stops with the fix.""",
        ),
        (
            "code",
            """\
import os
import tomllib
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import despro
from despro.config.settings import config_from_dict
from despro.mapsite.summary import findings, gate_labels

REPO = Path(os.environ.get("DESPRO_REPO") or Path(despro.__file__).resolve().parents[1])
CONFIG = REPO / "examples" / "indonesia.toml"
if not (REPO.parent / "shared" / "data").is_dir():
    raise FileNotFoundError(
        "../shared/data not found next to the despro repository: clone despro next to the "
        "folder holding shared/data, or set DESPRO_REPO to a checkout that has it"
    )
PROVINCE = os.environ.get("DESPRO_PROVINCE", "15")  # 15 Jambi; "" = all of Indonesia
TIER_COLOURS = {"ready": "#009E73", "near-ready": "#56B4E9", "undetermined": "#E69F00",
                "not ready": "#999999"}
data = tomllib.loads(CONFIG.read_text())
if PROVINCE:
    data["villages"]["code_prefix"] = PROVINCE
cfg = config_from_dict(data, base_dir=CONFIG.parent, file="examples/indonesia.toml")
r = despro.run(cfg)
where = r.villages["province_name"].iloc[0] if PROVINCE else "Indonesia"
print(f"{where}: {len(r.villages):,} villages on {r.n_cells:,} H3 cells "
      f"(resolution {cfg.run.resolution}) in {sum(r.timings.values()):.0f} s")""",
        ),
        (
            "md",
            """\
## Tiers, and the share of villages whose tier the data already decide
A village is *undetermined* while a rule it could fail has no data (never scored as 0).""",
        ),
        (
            "code",
            """\
tiers = r.villages["tier"].value_counts().reindex(list(TIER_COLOURS), fill_value=0)
decided = 1 - tiers["undetermined"] / len(r.villages)
print(f"tier decided for {decided:.1%} of the villages")
tiers.to_frame("villages")""",
        ),
        (
            "md",
            """\
## The findings, as the map site and `despro run` state them
Indonesian first, then English.""",
        ),
        (
            "code",
            """\
rules = r.config.criteria.rules
for lang in ("id", "en"):
    for line in findings(r.villages, gate_labels(rules, lang), lang):
        print("-", line)
    print()""",
        ),
        (
            "md",
            """\
## Which rules decide, which wait for data
Per gate rule: villages passing, failing and unknown. The evidence level says how directly
the value observes a village (`census` > `village` > `cells` > `regency` > `province` >
`country`).""",
        ),
        (
            "code",
            """\
gates = [x.id for x in rules if x.role == "gate"]
states = pd.DataFrame(
    {g: r.villages[f"{g}_state"].value_counts() for g in gates}
).T.reindex(columns=["pass", "fail", "unknown"]).fillna(0).astype(int)
evidence = r.criteria.groupby("rule")["evidence"].agg(lambda e: ", ".join(sorted(set(e.dropna()))))
states.join(evidence)""",
        ),
        (
            "md",
            """\
## The map: tiers per village and the decided share per regency
A static image (it stays in the saved notebook); `r.explore()` draws the same interactively.""",
        ),
        (
            "code",
            """\
reg = r.to_admin("regency")
reg["pct_decided"] = 100 * (1 - reg["n_undetermined"] / reg["villages"])
fig, axes = plt.subplots(1, 2, figsize=(13, 6))
for tier, colour in TIER_COLOURS.items():
    part = r.villages[r.villages["tier"] == tier]
    if len(part):
        part.plot(ax=axes[0], color=colour, linewidth=0)
axes[0].legend(handles=[plt.Rectangle((0, 0), 1, 1, color=c) for c in TIER_COLOURS.values()],
               labels=list(TIER_COLOURS), loc="lower left", fontsize=8)
axes[0].set_title(f"{where}: tiers")
reg.plot(ax=axes[1], column="pct_decided", cmap="viridis", vmin=0, vmax=100, legend=True,
         edgecolor="white", linewidth=0.4, legend_kwds={"label": "% villages decided"})
axes[1].set_title("tier decided (% of villages), per regency")
for ax in axes:
    ax.set_axis_off()
reg[["regency_name", "villages", "n_not_ready", "n_undetermined", "pct_decided"]].round(1)""",
        ),
    ],
    "05_qgis_duckdb_postgis": [
        (
            "md",
            """\
# From despro to QGIS, DuckDB and PostGIS

A run's files are made for the tools a GIS analyst already uses: `villages.gpkg` opens styled
in QGIS, the GeoParquet files let DuckDB (or GDAL) read only the row groups of an area, and
`despro export --postgis` loads the tables into PostGIS in one transaction. On the bundled
synthetic sample; the same works on a national run.""",
        ),
        ("code", SETUP.format(imports=PLOTS)),
        (
            "md",
            """\
## The GeoPackage: layers, their styles, their fields
Every layer has a default QGIS style in `layer_styles` (the table QGIS itself writes), and
`layer_fields` says what each field is, with its unit.""",
        ),
        (
            "code",
            """\
import sqlite3

import pyogrio

plan = despro.plan_pilots(r, marginal=False)
files = despro.write_outputs(r, OUT, plan=plan)
gpkg = OUT / "villages.gpkg"
pd.DataFrame(
    [(name, kind, pyogrio.read_info(gpkg, layer=name)["features"])
     for name, kind in pyogrio.list_layers(gpkg)],
    columns=["layer", "geometry", "features"],
)""",
        ),
        (
            "code",
            """\
with sqlite3.connect(gpkg) as con:
    styles = pd.read_sql(
        "SELECT f_table_name AS layer, styleName, useAsDefault, description FROM layer_styles",
        con,
    )
styles""",
        ),
        (
            "code",
            """\
fields = pyogrio.read_dataframe(gpkg, layer="layer_fields")
fields[fields["layer"].isin(["agents", "clusters"])]""",
        ),
        (
            "md",
            """\
In QGIS: *Layer > Add Layer > Add Vector Layer*, pick `villages.gpkg`, select its layers:
each opens with its default style. From QGIS's Python console (or `python3` with
`python3-qgis`):

```python
layer = QgsVectorLayer("villages.gpkg|layername=villages", "villages", "ogr")
layer.loadDefaultStyle()          # the layer_styles row marked useAsDefault
layer.renderer().classAttribute() # 'tier'
```

The style is plain QML in the table; here its categories colour the villages with
matplotlib, to show what QGIS will draw:""",
        ),
        (
            "code",
            """\
import xml.etree.ElementTree as ET

with sqlite3.connect(gpkg) as con:
    qml = con.execute(
        "SELECT styleQML FROM layer_styles WHERE f_table_name = 'villages' AND useAsDefault"
    ).fetchone()[0]
renderer = ET.fromstring(qml.split("\\n", 1)[1]).find("renderer-v2")
colour = {}
for cat in renderer.iter("category"):
    symbol = renderer.find(f"symbols/symbol[@name='{cat.get('symbol')}']")
    rgba = symbol.find("layer/Option/Option[@name='color']").get("value").split(",")
    colour[cat.get("value")] = "#" + "".join(f"{int(x):02x}" for x in rgba[:3])
villages = pyogrio.read_dataframe(gpkg, layer="villages")
ax = villages.plot(color=villages["tier"].map(colour), edgecolor="white", linewidth=0.3,
                   figsize=(7, 6))
ax.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=c) for c in colour.values()],
          labels=list(colour), loc="lower left", fontsize=8)
ax.set_title(f"villages by {renderer.get('attr')}, colours from layer_styles")
ax.set_axis_off()
colour""",
        ),
        (
            "md",
            """\
## DuckDB: read only the row groups of one area
The GeoParquet files are GeoParquet 1.1 with a `bbox` covering column (`xmin`, `ymin`,
`xmax`, `ymax` per row). `villages.parquet` has one row group per province (38 nationally),
`cells.parquet` row groups of at most 65,536 cells grouped by H3 parent (about 40 in a
national run). A query on `bbox` lets DuckDB skip every row group whose bbox statistics miss
the area: one province's rows cost one province's reading. The sample is one province of
5,912 cells (one row group each), so here the cells are written in groups of 500 to show the
skipping for one regency's box.""",
        ),
        (
            "code",
            """\
import json

import duckdb
import pyarrow.parquet as pq

from despro.grid import celltable

print("villages.parquet row groups (one per province):",
      pq.ParquetFile(OUT / "villages.parquet").metadata.num_row_groups)
celltable.ROW_GROUP_ROWS = 500  # national runs keep the default 65,536
cells_file = OUT / "cells_500.parquet"
r.write_cells(cells_file)
box = r.villages[r.villages["regency_code"] == "3471"].total_bounds  # Kota Keraton Sari
x0, y0, x1, y1 = box
sql = f\"\"\"
SELECT count(*) AS cells, round(avg(village_score), 1) AS mean_village_score,
       round(avg(pct_area_4g_coverage), 1) AS mean_4g_pct
FROM read_parquet('{cells_file}')
WHERE bbox.xmax >= {x0} AND bbox.xmin <= {x1} AND bbox.ymax >= {y0} AND bbox.ymin <= {y1}\"\"\"
con = duckdb.connect()
con.sql(sql).df()""",
        ),
        (
            "code",
            """\
def row_groups_read(con, sql):
    \"\"\"(row groups scanned, row groups in the file) of the query's Parquet scan.\"\"\"
    con.sql("PRAGMA enable_profiling='json'")
    profile = json.loads(con.sql("EXPLAIN ANALYZE " + sql).fetchall()[0][1])
    con.sql("PRAGMA disable_profiling")
    todo = list(profile["operator"])
    while todo:
        node = todo.pop()
        if "row_groups_scanned" in node:
            return node["row_groups_scanned"], node["total_row_groups_to_scan"]
        todo += node.get("children", [])


scanned, total = row_groups_read(con, sql)
print(f"DuckDB read {scanned} of {total} row groups")""",
        ),
        (
            "md",
            """\
## PostGIS: `despro export --postgis`
Villages, cells and the shortlist go into `despro_villages`, `despro_cells`,
`despro_shortlist` (EPSG:4326, spatial indexes) plus `despro_runs`, in one transaction: a
failed export leaves the database as it was. Set `DESPRO_POSTGIS_URL` to your database
(`postgresql://user@host:5432/db`, password via `PGPASSWORD` or `~/.pgpass`); when it is not
reachable this section only prints the command.""",
        ),
        (
            "code",
            """\
import subprocess
import sys

import psycopg

URL = os.environ.get("DESPRO_POSTGIS_URL", "postgresql://localhost:5432/despro")
try:
    psycopg.connect(URL, connect_timeout=3).close()
    reachable = True
except psycopg.Error as exc:
    reachable = False
    print(f"PostgreSQL not reachable ({type(exc).__name__}); the command would be:")
cmd = [sys.executable, "-m", "despro.cli.main", "export", "--postgis", URL, "--run", str(OUT)]
print("despro export --postgis", URL, "--run output/")
if reachable:
    done = subprocess.run(cmd, capture_output=True, text=True)
    print(done.stdout.strip() if done.returncode == 0 else done.stderr.strip()[-500:])""",
        ),
        (
            "code",
            """\
if reachable:
    with psycopg.connect(URL) as c:
        by_tier = c.execute(
            "SELECT tier, count(*), round(avg(score)::numeric, 1) FROM despro_villages "
            "GROUP BY tier ORDER BY 2 DESC"
        ).fetchall()
        srid = c.execute("SELECT Find_SRID('public', 'despro_villages', 'geom')").fetchone()[0]
    print("SRID", srid)
    display(pd.DataFrame(by_tier, columns=["tier", "villages", "mean score"]))""",
        ),
    ],
}


def build(name: str, cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
        for kind, src in cells
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def execute(nb: nbformat.NotebookNode, folder: Path) -> nbformat.NotebookNode:
    """Run ``nb`` with ``folder`` as its working directory (its files land there)."""
    os.environ["DESPRO_NOTEBOOK_OUT"] = str(folder / "out")
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    return nb


def main(prefixes: list[str]) -> None:
    for name, cells in NOTEBOOKS.items():
        if prefixes and not any(name.startswith(p) for p in prefixes):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            nb = execute(build(name, cells), Path(tmp))
        for cell in nb.cells:  # no run-specific ids or timings in the saved file
            cell.get("metadata", {}).pop("execution", None)
        nbformat.write(nb, HERE / f"{name}.ipynb")
        # the repository's style (ruff formats notebooks too); sources only, outputs kept
        subprocess.run([sys.executable, "-m", "ruff", "format", str(HERE / f"{name}.ipynb")])
        print(f"notebooks/{name}.ipynb")


if __name__ == "__main__":
    main(sys.argv[1:])
