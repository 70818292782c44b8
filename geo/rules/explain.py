"""Why a village is not ready, and what it would take: pure frames in, frames out.

Per village (:func:`explain`), from the long rule table (gate rules only):

* the *binding* rule: of the failing rules, the one furthest from its threshold relative
  to the threshold (``-margin / |threshold|``); when nothing fails, the first unknown rule
  (in rule order); none for a ready village;
* its gap in the rule's unit (``binding_gap = threshold - value``: + means the value must
  rise, - that it must fall; missing for an unknown rule) and a readable text
  (Indonesian first: "perlu +7,0 pp individu memiliki smartphone", or "perlu data kurir");
* the number of failing and of unknown gate rules;
* for an undetermined village, the inputs behind its unknown rules (``data_needed``: the
  layers, or the variable where its layer is not configured) and a text ("perlu data
  kurir" / "needs courier data").

From the per-village columns: the villages one fix away (:func:`one_fix_away`), the
summary per province or regency (:func:`summary`) and the ranked table of the data that
would decide most villages (:func:`data_needed`). Nothing here reads or writes files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from despro.config.vocab import FAIL, MODEL_LEVEL, PASS, TIERS, UNDETERMINED, UNKNOWN

if TYPE_CHECKING:
    from despro.config.settings import Rule

#: separator of the input keys in ``data_needed``
SEP = "; "
NOT_CONFIGURED = "(not configured)"

#: the per-village columns :func:`explain` adds
EXPLAIN_COLUMNS = [
    "binding_criterion",
    "binding_rule",
    "binding_kind",
    "binding_gap",
    "binding_unit",
    "binding_text",
    "n_fail",
    "n_unknown",
    "data_needed",
    "data_needed_text",
]

WORDS = {
    "id": {
        "needs": "perlu",
        "fall": "{label} perlu turun {amount}",
        "presence": "perlu {label} (belum ada)",
        "data": "perlu data {}",
        "join": ", ",
    },
    "en": {
        "needs": "needs",
        "fall": "{label} must fall by {amount}",
        "presence": "needs {label} (none yet)",
        "data": "needs {} data",
        "join": ", ",
    },
}


def _lang(lang: str) -> str:
    if lang not in WORDS:
        raise ValueError(f"language must be one of {tuple(WORDS)}, got {lang!r}")
    return lang


def input_key(layer: object, variable: object, providers: Mapping[str, str] | None = None) -> str:
    """The input behind a rule: its layer, or where no layer is configured the layer that
    can give the variable (``providers``: variable -> layer, the layers' ``PROVIDES``,
    :func:`despro.layers.providers`), else the variable."""
    if isinstance(layer, str) and layer and layer != NOT_CONFIGURED:
        return layer
    return (providers or {}).get(str(variable), str(variable))


def rule_inputs(
    rules: Iterable[Rule], variables: dict, providers: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Rule id -> the input that would decide it: the layer of the rule's own variable.

    Parameters
    ----------
    rules : list of Rule
    variables : dict
        Declared variables by name (``Variable.layer``).
    providers : dict, optional
        Variable -> the layer that can give it (:func:`despro.layers.providers`), for a
        rule whose variable is not declared because its layer is not configured (a run
        without a courier layer still says "perlu data kurir" for I3).
    """
    return {
        r.id: input_key(
            variables[r.variable].layer if r.variable in variables else None,
            r.variable,
            providers,
        )
        for r in rules
    }


def input_label(key: str, lang: str = "id", titles: Mapping[str, str] | None = None) -> str:
    """Readable name of an input key in ``lang``: ``titles`` (layer -> its ``TITLE`` in
    that language, :func:`despro.layers.titles`), else the key itself."""
    _lang(lang)
    return (titles or {}).get(key, key)


def _number(x: float, lang: str, unit: str) -> str:
    if unit == "pp" or (1 <= abs(x) < 10 and not float(x).is_integer()):
        digits = 1
    elif abs(x) >= 10 or float(x).is_integer():
        digits = 0
    else:
        digits = 2
    text = f"{x:+,.{digits}f}"
    if lang == "id":
        text = text.translate(str.maketrans({",": ".", ".": ","}))
    return text


#: units written after a gap; any other unit (e.g. "companies") is named by the label
SYMBOLS = ("m", "km", "Mbps", "ms", "%")


def _unit(unit: str) -> str:
    u = (unit or "").strip()
    if u.startswith("percent"):
        return "pp"  # a gap between two percentages is in percentage points
    return u if u in SYMBOLS else ""


def is_presence(unit: str, threshold: float | None, value: float | None) -> bool:
    """Whether a failing rule asks for something the village has none of: a count
    (a unit that is no percentage, distance, speed, ratio or score) whose threshold is at
    most 1 (e.g. I3: at least one courier company) and whose value is 0."""
    u = (unit or "").strip()
    counted = bool(u) and not (
        u.startswith(("percent", "score")) or u in (*SYMBOLS, "ratio", "Mbps")
    )
    if not counted or threshold is None or value is None:
        return False
    return bool(0 < threshold <= 1 and value == 0)


def gap_text(
    gap: float, unit: str, label: str, lang: str = "id", threshold: float | None = None
) -> str:
    """What a failing rule needs, in words that read naturally in ``lang``.

    Parameters
    ----------
    gap : float
        ``threshold - value`` in the rule's unit: + the value must rise (a ``>=`` rule),
        - it must fall (a ``<=`` rule, e.g. a distance in m); NaN when unknown.
    unit : str
        The rule's unit (percentages give percentage points, metres kilometres).
    label : str
        The rule's label in ``lang``.
    lang : 'id' or 'en'
    threshold : float, optional
        The rule's threshold: with it, a count the village has none of reads as
        presence ("perlu <label> (belum ada)", :func:`is_presence`).

    Returns
    -------
    str
        "perlu +7,0 pp <label>" / "needs +7.0 pp <label>" (must rise),
        "<label> perlu turun 5,9 km" / "<label> must fall by 5.9 km" (must fall),
        "perlu <label> (belum ada)" / "needs <label> (none yet)" (presence),
        "perlu <label>" (a missing gap).
    """
    w = WORDS[_lang(lang)]
    if gap is None or np.isnan(gap):
        return " ".join(x for x in (w["needs"], label) if x)
    if threshold is not None and is_presence(unit, threshold, threshold - gap):
        return w["presence"].format(label=label).strip()
    sym = _unit(unit)
    if sym == "m" and abs(gap) >= 1000:
        gap, sym = gap / 1000.0, "km"
    if gap < 0:
        amount = _number(-gap, lang, sym).lstrip("+")
        amount = f"{amount} {sym}" if sym else amount
        return w["fall"].format(label=label, amount=amount).strip()
    parts = [w["needs"], _number(gap, lang, sym)]
    if sym:
        parts.append(sym)
    if label:
        parts.append(label)
    return " ".join(parts)


def data_text(keys: str, lang: str = "id", titles: Mapping[str, str] | None = None) -> str:
    """ "perlu data kurir, produk" from the input keys of ``data_needed`` ("" for none;
    ``titles``: see :func:`input_label`)."""
    if not isinstance(keys, str) or not keys:
        return ""
    w = WORDS[_lang(lang)]
    return w["data"].format(w["join"].join(input_label(k, lang, titles) for k in keys.split(SEP)))


def explain(
    long: pd.DataFrame,
    tier: pd.Series,
    labels: dict[str, str] | None = None,
    lang: str = "id",
    inputs: dict[str, str] | None = None,
    titles: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The binding rule, its gap, the counts and the data needed, per village.

    Parameters
    ----------
    long : DataFrame
        The long rule table (:func:`despro.rules.criteria.evaluate`): ``village_code, rule,
        criterion, role, variable, value, threshold, unit, state, margin, layer``.
    tier : Series
        Tier per village (index: village code); the result has this index.
    labels : dict, optional
        Rule id -> readable label for the texts (e.g. the rules' ``label_id``).
    lang : 'id' or 'en'
        Language of the texts.
    inputs : dict, optional
        Rule id -> the input that would decide the rule when unknown (:func:`rule_inputs`:
        the layer of the rule's own variable, the national measure, rather than another
        evidence level such as a census that only some villages have). Rules not in it use
        the layer (or variable) of their row in ``long``.
    titles : dict, optional
        Input key -> its readable name in ``lang`` (:func:`input_label`).

    Returns
    -------
    DataFrame
        :data:`EXPLAIN_COLUMNS`: ``binding_gap`` in the rule's unit (``binding_unit``;
        threshold - value), ``n_fail`` / ``n_unknown`` counts of gate rules,
        ``data_needed`` the input keys (``"; "``-separated; undetermined villages only).
    """
    labels, inputs = labels or {}, inputs or {}
    g = long  # every row; only gate rules count (a copy of the gate rows took a second)
    gate = (long["role"] == "gate").to_numpy(bool)
    # integer codes throughout: grouping 830 k text rows nationally took seconds
    n = len(tier)
    village_c, village_u = pd.factorize(g["village_code"])
    vpos = tier.index.get_indexer(village_u)[village_c]
    rule_c, rule_u = pd.factorize(g["rule"])
    layer_c, layer_u = pd.factorize(g["layer"], use_na_sentinel=False)
    var_c, var_u = pd.factorize(g["variable"], use_na_sentinel=False)
    combo = (rule_c.astype(np.int64) * (len(layer_u) + 1) + layer_c) * (len(var_u) + 1) + var_c
    combo_u, combo_inv = np.unique(combo, return_inverse=True)
    combo_key = []
    for c in combo_u.tolist():
        rest, v = divmod(c, len(var_u) + 1)
        r, lay = divmod(rest, len(layer_u) + 1)
        combo_key.append(inputs.get(rule_u[r]) or input_key(layer_u[lay], var_u[v]))
    key_u = list(dict.fromkeys(combo_key))  # inputs, in rule order (long is rule-major)
    if len(key_u) > 62:
        raise ValueError(f"more than 62 inputs behind the rules: {key_u}")
    key_c = np.array([key_u.index(k) for k in combo_key], dtype=np.int64)[combo_inv]

    ok = (vpos >= 0) & gate
    fail = (g["state"] == FAIL).to_numpy(bool) & ok
    unknown = (g["state"] == UNKNOWN).to_numpy(bool) & ok
    out = pd.DataFrame(index=tier.index)
    out["n_fail"] = np.bincount(vpos[fail], minlength=n).astype(np.int64)
    out["n_unknown"] = np.bincount(vpos[unknown], minlength=n).astype(np.int64)

    thr = g["threshold"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = -g["margin"].to_numpy(float) / np.where(thr == 0, 1.0, np.abs(thr))
    # candidates per village: failing ones by relative shortfall (largest first), then
    # unknown ones in rule order (the long table is rule-major: row order is rule order)
    cand = np.flatnonzero(fail | unknown)
    rel_c = np.where(fail[cand], np.nan_to_num(rel[cand], nan=0.0), -np.inf)
    order = cand[np.lexsort((cand, -rel_c, ~fail[cand], vpos[cand]))]
    first_v, first_i = np.unique(vpos[order], return_index=True)
    rows = order[first_i]
    at = np.full(n, -1)
    at[first_v] = rows
    has = at >= 0

    def pick(col: str, dtype=object) -> np.ndarray:
        x = np.full(n, None if dtype is object else np.nan, dtype=dtype)
        x[has] = np.asarray(g[col].array.take(at[has]), dtype=dtype)
        return x

    out["binding_criterion"] = pick("criterion")
    out["binding_rule"] = pick("rule")
    out["binding_kind"] = pick("state")
    gap = pick("threshold", float) - pick("value", float)
    out["binding_gap"] = np.where(out["binding_kind"].to_numpy(object) == FAIL, gap, np.nan)
    out["binding_unit"] = pick("unit")
    bkey = np.full(n, None, dtype=object)
    bkey[has] = np.asarray(key_u, dtype=object)[key_c[at[has]]]
    cache: dict[tuple, str] = {}

    def text(r, kind, gp, u, k, t) -> str:
        key = (r, kind, gp if kind == FAIL else None, u, k, t if kind == FAIL else None)
        if key not in cache:  # (NaN is no dict key)
            cache[key] = _binding_text(r, kind, gp, u, k, labels, lang, titles, t)
        return cache[key]

    out["binding_text"] = [
        text(*x)
        for x in zip(
            out["binding_rule"].tolist(),
            out["binding_kind"].tolist(),
            out["binding_gap"].tolist(),
            out["binding_unit"].tolist(),
            bkey.tolist(),
            pick("threshold", float).tolist(),
            strict=True,
        )
    ]
    masks = np.zeros(n, dtype=np.int64)
    np.bitwise_or.at(masks, vpos[unknown], np.left_shift(np.int64(1), key_c[unknown]))
    masks[(tier != UNDETERMINED).to_numpy()] = 0
    uniq, inv = np.unique(masks, return_inverse=True)
    joined = [SEP.join(k for i, k in enumerate(key_u) if (m >> i) & 1) for m in uniq.tolist()]
    out["data_needed"] = np.asarray(joined, dtype=object)[inv]
    texts = np.asarray([data_text(j, lang, titles) for j in joined], dtype=object)
    out["data_needed_text"] = texts[inv]
    return out[EXPLAIN_COLUMNS]


def _binding_text(rule, state, gap, unit, key, labels, lang, titles, threshold=None) -> str:
    if not isinstance(rule, str):
        return ""
    if state == UNKNOWN:
        return data_text(key, lang, titles)
    return gap_text(gap, unit, labels.get(rule, rule), lang, threshold)


def one_fix_away(villages: pd.DataFrame) -> pd.DataFrame:
    """Villages where exactly one gate rule fails or is unknown, best rank first.

    ``villages`` holds the columns of :func:`explain` plus ``village_code``, ``tier``,
    ``rank`` (and the names and admin codes, kept when present).
    """
    one = villages[(villages["n_fail"] + villages["n_unknown"]) == 1]
    keep = [
        c
        for c in (
            "village_code",
            "village_name",
            "regency_code",
            "regency_name",
            "province_code",
            "province_name",
            "tier",
            "rank",
            "binding_criterion",
            "binding_rule",
            "binding_kind",
            "binding_gap",
            "binding_unit",
            "binding_text",
            "data_needed",
            "data_needed_text",
        )
        if c in one.columns
    ]
    return pd.DataFrame(one[keep]).sort_values("rank").reset_index(drop=True)


def summary(villages: pd.DataFrame, level: str = "province") -> pd.DataFrame:
    """Counts per tier, the most common binding criterion and the share of villages each
    missing input leaves undetermined, per province or regency.

    Parameters
    ----------
    villages : DataFrame
        Per village: ``<level>_code`` (and ``<level>_name``, ``province_code`` /
        ``province_name`` when present), ``tier`` and the columns of :func:`explain`.
    level : 'province' or 'regency'

    Returns
    -------
    DataFrame
        One row per unit: codes and names, ``villages``, one count per tier
        (``n_ready``, ``n_near_ready``, ``n_undetermined``, ``n_not_ready``), ``top_binding_
        criterion`` and ``top_binding_villages`` (villages it binds), and per input key
        ``pct_undetermined_<input>`` (percent of the unit's villages undetermined with that
        input among their missing data).
    """
    if level not in ("province", "regency"):
        raise ValueError(f"level must be 'province' or 'regency', got {level!r}")
    key = f"{level}_code"
    ids = list(
        dict.fromkeys(
            c
            for c in (key, f"{level}_name", "province_code", "province_name")
            if c in villages.columns
        )
    )
    v = pd.DataFrame(villages)
    grp = v.groupby(key, sort=True)
    out = grp[ids[1:]].first() if len(ids) > 1 else pd.DataFrame(index=grp.size().index)
    out["villages"] = grp.size()
    counts = pd.crosstab(v[key], v["tier"]).reindex(index=out.index, columns=list(TIERS))
    for t in TIERS:
        out[f"n_{t.replace('-', '_').replace(' ', '_')}"] = counts[t].fillna(0).to_numpy()
    binding = v.groupby([key, "binding_criterion"]).size().rename("n").reset_index()
    # the criterion binding most villages of the unit (ties: the first code)
    binding = binding.sort_values([key, "n", "binding_criterion"], ascending=[True, False, True])
    top = binding.drop_duplicates(key).set_index(key)
    out["top_binding_criterion"] = top["binding_criterion"].reindex(out.index)
    out["top_binding_villages"] = top["n"].reindex(out.index).fillna(0)
    needed = _needed_long(v)
    if len(needed):
        per = pd.crosstab(needed[key], needed["input"]).reindex(out.index).fillna(0)
        for k in sorted(per.columns):
            out[f"pct_undetermined_{k}"] = (100.0 * per[k] / out["villages"]).astype(float)
    for col, values in evidence_shares(v).items():
        out[col] = values.groupby(v[key].to_numpy()).mean().reindex(out.index) * 100.0
    out = out.reset_index()
    int_cols = ["villages", *[c for c in out.columns if c.startswith("n_")], "top_binding_villages"]
    out[int_cols] = out[int_cols].astype(np.int64)
    return out


def evidence_shares(villages: pd.DataFrame) -> dict[str, pd.Series]:
    """Per village 1.0 / 0.0 indicators of how its answers were reached (means are shares).

    - ``pct_tier_decided``: the tier is ready, near-ready or not ready (not undetermined):
      decided by observed, official or modelled-coverage evidence, never by the model;
    - ``pct_p_ready_model``: the tier is undetermined and ``p_ready`` is given (the model
      stands in for the unknown gate rules);
    - per rule with a model (``<rule>_prob_evidence``): ``pct_<rule>_decided`` (its state
      is pass or fail) and ``pct_<rule>_model`` (unknown, the model's probability only).

    Parameters
    ----------
    villages : DataFrame
        ``tier`` and, when present, ``p_ready``, ``<rule>_state``, ``<rule>_prob_evidence``.

    Returns
    -------
    dict
        Column name -> Series of 1.0 / 0.0 aligned with ``villages``.
    """
    v = villages
    out: dict[str, pd.Series] = {}
    if "tier" in v.columns:
        undetermined = v["tier"] == UNDETERMINED
        out["pct_tier_decided"] = (~undetermined).astype(float)
        if "p_ready" in v.columns:
            out["pct_p_ready_model"] = (undetermined & v["p_ready"].notna()).astype(float)
    for col in v.columns:
        if not col.endswith("_prob_evidence"):
            continue
        rule = col.removesuffix("_prob_evidence")
        if f"{rule}_state" in v.columns:
            out[f"pct_{rule}_decided"] = v[f"{rule}_state"].isin((PASS, FAIL)).astype(float)
        out[f"pct_{rule}_model"] = (v[col] == MODEL_LEVEL).astype(float)
    return out


def _needed_long(villages: pd.DataFrame) -> pd.DataFrame:
    """One row per undetermined village and input key it needs."""
    d = villages["data_needed"].fillna("")
    d = d[d != ""]
    if not len(d):
        return pd.DataFrame(columns=["input", *villages.columns])
    lists = d.str.split(SEP)
    rows = lists.explode().rename("input")
    return villages.loc[rows.index].assign(input=rows.to_numpy())


def _gain(masks: np.ndarray, decided: np.ndarray, have: int, k: int) -> tuple[int, int]:
    """Villages input ``k`` would newly decide given the inputs ``have``, and how many need it."""
    newly = ~decided & ((masks & ~(have | (1 << k))) == 0)
    return int(newly.sum()), int(((masks >> k) & 1).sum())


def _greedy(masks: np.ndarray, n_inputs: int) -> list[tuple[int, np.ndarray]]:
    """Inputs in the order that decides most villages: each step adds the input that,
    with those before it, decides most villages (ties: the input most villages need,
    then the first); returns (input, villages it newly decides) per step."""
    have, decided, steps = 0, masks == 0, []
    left = list(range(n_inputs))
    while left:
        best = max(left, key=lambda k: (*_gain(masks, decided, have, k), -k))
        have |= 1 << best
        newly = ~decided & ((masks & ~have) == 0)
        decided = decided | newly
        steps.append((best, newly))
        left.remove(best)
    return steps


def data_needed(
    villages: pd.DataFrame, lang: str = "id", titles: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The data that would decide most villages: inputs ranked, per regency.

    An undetermined village is decided once every input behind its unknown rules is in
    hand. Inputs are ranked greedily: first the input that alone decides most villages,
    then the one that together with it decides most more, and so on (ties: the input
    most villages need).

    Returns
    -------
    DataFrame
        One row per input and regency where it is needed: ``input_rank`` (1 = first to
        get), ``input``, ``input_label``, ``villages_decided_total`` (undetermined villages
        it decides together with the inputs ranked above it, not counted there),
        ``villages_needing_total`` (undetermined villages with that input among their
        missing data), regency (and province) codes and names, ``villages_decided`` and
        ``villages_needing`` in that regency; by rank, then villages decided and needing
        in the regency (most first), then regency code.
    """
    ids = [
        c
        for c in ("regency_code", "regency_name", "province_code", "province_name")
        if c in villages.columns
    ]
    cols = [
        "input_rank",
        "input",
        "input_label",
        "villages_decided_total",
        "villages_needing_total",
        *ids,
        "villages_decided",
        "villages_needing",
    ]
    v = pd.DataFrame(villages)
    d = v["data_needed"].fillna("").astype(str)
    v = v[d != ""]
    if not len(v):
        return pd.DataFrame(columns=cols)
    lists = d[d != ""].str.split(SEP)
    keys = sorted({k for ks in lists for k in ks})
    bit = {k: i for i, k in enumerate(keys)}
    masks = np.array([sum(1 << bit[k] for k in set(ks)) for ks in lists], dtype=np.int64)
    regency = v["regency_code"].to_numpy()
    names = v[ids].drop_duplicates("regency_code").set_index("regency_code")
    parts = []
    for rank_, (k, newly) in enumerate(_greedy(masks, len(keys)), start=1):
        needing = ((masks >> k) & 1).astype(bool)
        per = pd.DataFrame(
            {
                "villages_decided": pd.Series(newly, index=regency).groupby(level=0).sum(),
                "villages_needing": pd.Series(needing, index=regency).groupby(level=0).sum(),
            }
        )
        per = per[(per["villages_decided"] > 0) | (per["villages_needing"] > 0)]
        per = per.join(names).reset_index(names="regency_code")
        per["input_rank"] = rank_
        per["input"] = keys[k]
        per["input_label"] = input_label(keys[k], lang, titles)
        per["villages_decided_total"] = int(newly.sum())
        per["villages_needing_total"] = int(needing.sum())
        parts.append(per)
    out = pd.concat(parts, ignore_index=True).sort_values(
        ["input_rank", "villages_decided", "villages_needing", "regency_code"],
        ascending=[True, False, False, True],
    )
    for c in (
        "input_rank",
        "villages_decided_total",
        "villages_needing_total",
        "villages_decided",
        "villages_needing",
    ):
        out[c] = out[c].astype(np.int64)
    return out[cols].reset_index(drop=True)


def village_texts(
    villages: pd.DataFrame,
    labels: dict[str, str] | None = None,
    lang: str = "id",
    titles: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> pd.Series:
    """One line per village saying what it would take, in ``lang``, from the columns of
    :func:`explain`: the data an undetermined village needs ("needs courier, product
    data"), else the binding rule's gap ("needs +7.0 pp smartphone ownership"); "" for a
    ready village.

    Parameters
    ----------
    villages : DataFrame
        With ``binding_rule``, ``binding_gap``, ``binding_unit`` and ``data_needed``.
    labels : dict, optional
        Rule id -> readable label in ``lang``.
    lang : 'id' or 'en'
    titles : dict, optional
        Input key -> its readable name in ``lang`` (:func:`input_label`).
    thresholds : dict, optional
        Rule id -> threshold, so that a count the village has none of reads as presence
        (:func:`gap_text`).
    """
    labels, thresholds = labels or {}, thresholds or {}
    out = []
    for rule, gap, unit, needed in zip(
        villages["binding_rule"],
        villages["binding_gap"],
        villages["binding_unit"],
        villages["data_needed"],
        strict=True,
    ):
        if isinstance(needed, str) and needed:
            out.append(data_text(needed, lang, titles))
        elif isinstance(rule, str):
            out.append(gap_text(gap, unit, labels.get(rule, rule), lang, thresholds.get(rule)))
        else:
            out.append("")
    return pd.Series(out, index=villages.index, dtype=object)
