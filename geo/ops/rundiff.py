"""What changed between two runs: villages whose tier or criterion results moved, and why.

Compares the ``criteria.csv`` and ``villages.parquet`` of two run folders. A row is
reported for every village and rule whose state changed or whose value moved by
more than ``tolerance``; each row names the rule's layer and the input files of
that layer whose content (sha256 in the manifests) differs between the runs, i.e.
the input that drove the change.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from despro.io.outputs import csv_safe, write_atomic_text


def _manifest_inputs(run_dir: Path) -> dict[str, dict[str, str]]:
    """layer -> {file: sha256} from a run's manifest."""
    man = json.loads((Path(run_dir) / "manifest.json").read_text(encoding="utf-8"))
    out: dict[str, dict[str, str]] = {}
    for i in man["inputs"]:
        out.setdefault(i["layer"], {})[i["file"]] = i["sha256"]
    return out


def changed_inputs(dir_a: Path, dir_b: Path) -> dict[str, list[str]]:
    """layer -> files added, removed or with different content between two runs."""
    a, b = _manifest_inputs(dir_a), _manifest_inputs(dir_b)
    out = {}
    for layer in sorted(set(a) | set(b)):
        fa, fb = a.get(layer, {}), b.get(layer, {})
        diff = sorted(f for f in set(fa) | set(fb) if fa.get(f) != fb.get(f))
        if diff:
            out[layer] = diff
    return out


def diff_runs(dir_a: Path, dir_b: Path, tolerance: float = 1e-9) -> pd.DataFrame:
    """Village x rule changes from run A to run B (see module docstring).

    Returns
    -------
    DataFrame
        ``village_code, village_name, tier_a, tier_b, rule, variable, state_a,
        state_b, value_a, value_b, delta, layer, changed_inputs``; villages new in B
        or gone from A appear with the missing side empty.
    """
    key = ["village_code", "rule"]
    cols = ["village_code", "rule", "variable", "value", "state", "layer"]
    ca = pd.read_csv(Path(dir_a) / "criteria.csv", dtype={"village_code": str})[cols]
    cb = pd.read_csv(Path(dir_b) / "criteria.csv", dtype={"village_code": str})[cols]
    m = ca.merge(cb, on=key, how="outer", suffixes=("_a", "_b"))
    va, vb = m["value_a"].to_numpy(float), m["value_b"].to_numpy(float)
    moved = ~(
        (np.isnan(va) & np.isnan(vb)) | (np.abs(va - vb) <= tolerance * np.maximum(1.0, np.abs(va)))
    )
    changed = (m["state_a"] != m["state_b"]) | moved
    m = m[changed].copy()
    m["delta"] = m["value_b"] - m["value_a"]
    m["variable"] = m["variable_b"].fillna(m["variable_a"])
    m["layer"] = m["layer_b"].fillna(m["layer_a"])
    drivers = changed_inputs(dir_a, dir_b)
    m["changed_inputs"] = m["layer"].map(lambda la: "; ".join(drivers.get(la, [])))
    vcols = ["village_code", "village_name", "tier"]
    ta = pd.read_parquet(Path(dir_a) / "villages.parquet", columns=vcols)
    tb = pd.read_parquet(Path(dir_b) / "villages.parquet", columns=vcols)
    tiers = ta.merge(tb, on="village_code", how="outer", suffixes=("_a", "_b"))
    tiers["village_name"] = tiers["village_name_b"].fillna(tiers["village_name_a"])
    m = m.merge(
        tiers[["village_code", "village_name", "tier_a", "tier_b"]], on="village_code", how="left"
    )
    order = [
        "village_code",
        "village_name",
        "tier_a",
        "tier_b",
        "rule",
        "variable",
        "state_a",
        "state_b",
        "value_a",
        "value_b",
        "delta",
        "layer",
        "changed_inputs",
    ]
    return m[order].sort_values(["village_code", "rule"]).reset_index(drop=True)


def tier_changes(changes: pd.DataFrame) -> pd.DataFrame:
    """One row per village whose tier changed."""
    t = changes.drop_duplicates("village_code")
    return t[t["tier_a"] != t["tier_b"]][["village_code", "village_name", "tier_a", "tier_b"]]


def write_diff(
    changes: pd.DataFrame, run_a: str, run_b: str, csv_path: Path, html_path: Path
) -> None:
    """Write the changes as CSV (formula-safe) and as a small escaped HTML page."""
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic_text(csv_path, csv_safe(changes).to_csv(index=False))
    tiers = tier_changes(changes)
    e = html.escape
    page = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>despro: changes {e(run_a)} -> {e(run_b)}</title>",
        "<style>body{font:14px sans-serif;margin:1em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px}</style></head><body>",
        f"<h1>Changes from run {e(run_a)} to {e(run_b)}</h1>",
        f"<p>{changes['village_code'].nunique():,} villages with a changed criterion; "
        f"{len(tiers):,} changed tier.</p>",
        "<h2>Tier changes</h2>",
        tiers.to_html(index=False, escape=True, na_rep=""),
        "<h2>Criterion changes</h2>",
        changes.to_html(index=False, escape=True, na_rep="", float_format=lambda v: f"{v:.2f}"),
        "</body></html>",
    ]
    write_atomic_text(html_path, "\n".join(page))
