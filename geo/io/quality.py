"""The run's data-quality page: what was rejected, repaired or unmatched, by file and row.

:class:`~despro.layer.Notes` (written as ``data_quality.json``) is rendered
as ``data_quality.md``: a summary, then one table per input file listing each
note's action, message and rows. Inputs with no note are listed as read clean.
Every text that came from a file or the config is escaped, so a name such as
``<script>`` or ``a|b`` shows as written and cannot break the page or the table.

Where a village has both an observed and a modelled value for a rule, the page ends
with the agreement report (:func:`despro.rules.agreement.agreement`): one confusion
table per pair of sources, nationally and per province (:func:`agreement_markdown`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from despro.model.evidence import ModelEvidence

ACTIONS = {  # order of the page, and the words a planner reads
    "dropped": "rejected (rows left out)",
    "unmatched": "unmatched",
    "repaired": "repaired",
    "warning": "warning",
}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def escape(text: object) -> str:
    """Text safe inside a Markdown table cell: HTML escaped, Markdown specials backslashed."""
    s = " ".join(str(text).split())
    return _MD_SPECIAL.sub(r"\\\1", html.escape(s, quote=False))


def _rows(note: dict, shown: int = 20) -> str:
    rows = note.get("rows") or []
    n = int(note.get("n_rows", len(rows)))
    if not n:
        return ""
    text = ", ".join(escape(r) for r in rows[:shown])
    more = n - min(len(rows), shown)
    return f"{text} (+{more} more)" if more > 0 else text


def quality_markdown(
    items: list[dict],
    run_name: str = "despro",
    inputs: Iterable[tuple[str, str | Path]] = (),
    agreement: pd.DataFrame | None = None,
    model: ModelEvidence | None = None,
) -> str:
    """Markdown page of the data-quality notes.

    Parameters
    ----------
    items : list of dict
        ``Notes.items``: ``file``, ``action``, ``message``, ``rows``, ``n_rows``.
    run_name : str
        Title of the page.
    inputs : iterable of (layer, file)
        Every file the run read; those without notes are listed as clean.
    agreement : DataFrame, optional
        :func:`despro.rules.agreement.agreement`'s table; None: no agreement section.
    model : ModelEvidence, optional
        :func:`despro.model.model_evidence`'s result; None: no modelled-evidence section.
    """
    counts = {a: sum(1 for i in items if i["action"] == a) for a in ACTIONS}
    lines = [f"# Data quality: {escape(run_name)}", ""]
    if not items:
        lines += [
            "Every input passed its checks: nothing was rejected, repaired or left unmatched.",
            "",
        ]
    else:
        summary = ", ".join(f"{n} {ACTIONS[a]}" for a, n in counts.items() if n)
        lines += [
            f"{len(items)} note(s): {summary}. Rows are numbered as a spreadsheet shows "
            "them (header = row 1), or named by code / feature.",
            "",
        ]
    order = {a: k for k, a in enumerate(ACTIONS)}
    by_file: dict[str, list[dict]] = {}
    for it in items:
        by_file.setdefault(it["file"], []).append(it)
    for file, notes in by_file.items():
        lines += [f"## {escape(file)}", "", "| action | what | rows |", "|---|---|---|"]
        for it in sorted(notes, key=lambda i: order.get(i["action"], len(order))):
            n = int(it.get("n_rows", 0))
            what = escape(it["message"]) + (f" ({n} row{'s' if n != 1 else ''})" if n else "")
            lines.append(
                f"| {escape(ACTIONS.get(it['action'], it['action']))} | {what} | {_rows(it)} |"
            )
        lines.append("")
    clean = [(layer, str(f)) for layer, f in inputs if str(f) not in by_file]
    if clean:
        lines += ["## Read without notes", "", "| layer | file |", "|---|---|"]
        lines += [f"| {escape(layer)} | {escape(f)} |" for layer, f in dict.fromkeys(clean)]
        lines.append("")
    if agreement is not None:
        lines.append(agreement_markdown(agreement))
    if model is not None:
        lines.append(model_markdown(model))
    return "\n".join(lines)


def model_markdown(model: ModelEvidence) -> str:
    """Markdown section of the modelled evidence: notes, per held-out province and calibration.

    Parameters
    ----------
    model : ModelEvidence
        :func:`despro.model.model_evidence`'s result.

    Returns
    -------
    str
        A ``## Modelled evidence`` section: one line per rule modelled or skipped, a
        table per rule of the held-out provinces (villages, observed pass share, mean
        probability, ROC AUC, Brier) and the pooled calibration by decile.
    """
    lines = [
        "## Modelled evidence (leave one province out)",
        "",
        "Lowest evidence level `model`: a probability where no observed or official level "
        "decided the rule; it never changes a state, a tier or a score.",
        "",
    ]
    lines += [f"- {escape(n)}" for n in model.notes]
    lines.append("")
    v = model.validation
    for rule, g in v.groupby("rule", sort=False):
        lines += [
            f"### {escape(str(rule))}: held-out provinces",
            "",
            "| province | villages | trained on | observed pass | mean P | AUC | Brier |",
            "|---|---|---|---|---|---|---|",
        ]
        for _, r in g[g["decile"] == 0].iterrows():
            auc = "" if pd.isna(r["roc_auc"]) else f"{r['roc_auc']:.3f}"
            lines.append(
                f"| {escape(str(r['province']))} | {int(r['n'])} | {int(r['n_train'])} | "
                f"{_share(r['observed_share'])} | {_share(r['mean_prob'])} | {auc} | "
                f"{r['brier']:.3f} |"
            )
        lines += ["", "Calibration by decile (pooled out-of-fold):", ""]
        lines += ["| decile | villages | mean P | observed pass |", "|---|---|---|---|"]
        for _, r in g[(g["province"] == "all") & (g["decile"] > 0)].iterrows():
            lines.append(
                f"| {int(r['decile'])} | {int(r['n'])} | {_share(r['mean_prob'])} | "
                f"{_share(r['observed_share'])} |"
            )
        lines.append("")
    return "\n".join(lines)


def _share(x: float) -> str:
    return "" if pd.isna(x) else f"{100 * x:.1f} %"


def agreement_markdown(table: pd.DataFrame) -> str:
    """Markdown section of the agreement report: one confusion table per pair of sources.

    Parameters
    ----------
    table : DataFrame
        :func:`despro.rules.agreement.agreement`'s rows (national first, then per
        province), counts in villages, ``agreement`` a share 0-1.
    """
    lines = [
        "## Agreement: observed vs modelled",
        "",
        "Villages where a rule has both an observed value (census, village table) and a "
        "modelled one (cells): the observed value decides; this counts how often the "
        "modelled one agrees. Columns: observed yes / no x modelled pass / fail "
        "(villages), agreement = (yes & pass + no & fail) / villages.",
        "",
    ]
    if table.empty:
        return "\n".join([*lines, "No village has both an observed and a modelled value.", ""])
    key = ["rule", "observed_variable", "modelled_variable"]
    for (rule, ov, mv), t in table.groupby(key, sort=False):
        first = t.iloc[0]
        lines += [
            f"### {escape(rule)}: {escape(ov)} {escape(first['observed_test'])} (observed) vs "
            f"{escape(mv)} {escape(first['modelled_test'])} (modelled)",
            "",
            f"Observed: {escape(first['observed_source'])}. "
            f"Modelled: {escape(first['modelled_source'])}.",
            "",
            "| area | villages | yes, pass | yes, fail | no, pass | no, fail | agreement |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for _, r in t.iterrows():
            area = (
                "**national**"
                if r["scope"] == "national"
                else escape(f"{r['area_code']} {r['area_name']}".strip())
            )
            lines.append(
                f"| {area} | {r['villages']} | {r['yes_pass']} | {r['yes_fail']} | "
                f"{r['no_pass']} | {r['no_fail']} | {_share(r['agreement'])} |"
            )
        lines.append("")
    return "\n".join(lines)
