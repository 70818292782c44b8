"""Build the notebooks from the cells below, execute them and save them with their outputs.

    python notebooks/make_notebooks.py            # every notebook
    python notebooks/make_notebooks.py 02         # those whose name starts with 02

Each notebook runs in a temporary folder (its files land there, not in the repository)
on the bundled synthetic sample; ``tests/end_to_end/test_notebook.py`` executes the saved
notebooks again. Edit the cells here, not in the ``.ipynb`` files.
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
