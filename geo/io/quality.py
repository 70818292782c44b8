"""The run's data-quality page: what was rejected, repaired or unmatched, by file and row.

:class:`~despro.layer.Notes` (written as ``data_quality.json``) is rendered
as ``data_quality.md``: a summary, then one table per input file listing each
note's action, message and rows. Inputs with no note are listed as read clean.
Every text that came from a file or the config is escaped, so a name such as
``<script>`` or ``a|b`` shows as written and cannot break the page or the table.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from pathlib import Path

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
    items: list[dict], run_name: str = "despro", inputs: Iterable[tuple[str, str | Path]] = ()
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
    return "\n".join(lines)
