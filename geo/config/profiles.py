"""Named criteria profiles (``profiles.toml``): ``[criteria] profile = "NAME"``.

A profile sets thresholds by rule id and may add rules (``add_rules``); it is applied
to the rules in use before ``[criteria] thresholds``, which still override it.
``despro-table1`` (the default) changes nothing. The monitoring profile
``taobao-monitoring`` adds three info rules after AliResearch's Taobao village test
(T1 sales, T2 shops, T3 households selling); they stay unknown until a layer provides
their variables (:func:`despro.rules.profiles.taobao_status` combines them).
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

DEFAULT_PROFILE = "despro-table1"


@cache
def _load() -> dict[str, dict]:
    text = resources.files("despro.config").joinpath("profiles.toml").read_text("utf-8")
    return tomllib.loads(text)["profiles"]


def profile_names() -> list[str]:
    """Names of the shipped profiles."""
    return list(_load())


def profile(name: str) -> dict:
    """One profile: ``description``, ``source``, ``thresholds`` (rule id -> value) and
    ``add_rules`` (rule tables).

    Raises
    ------
    ValueError
        Unknown name (the message lists the known ones).
    """
    profiles = _load()
    if name not in profiles:
        raise ValueError(f"unknown criteria profile {name!r}; known: {list(profiles)}")
    p = profiles[name]
    return {
        "description": p.get("description", ""),
        "source": p.get("source", ""),
        "thresholds": dict(p.get("thresholds", {})),
        "add_rules": [dict(r) for r in p.get("add_rules", [])],
    }


def apply_profile(name: str, rules: list) -> list:
    """``rules`` (dicts or Rule models) with the profile's thresholds and added rules.

    Raises
    ------
    ValueError
        Unknown profile, or a profile threshold for a rule id not among ``rules``.
    """
    p = profile(name)

    def rid(r) -> str | None:
        return r.get("id") if isinstance(r, dict) else getattr(r, "id", None)

    ids = [rid(r) for r in rules]
    missing = sorted(set(p["thresholds"]) - set(ids))
    if missing:
        raise ValueError(f"profile {name!r} sets thresholds of rule(s) {missing} not in use")
    out = []
    for r in rules:
        thr = p["thresholds"].get(rid(r))
        if thr is not None:
            r = (
                {**r, "threshold": thr}
                if isinstance(r, dict)
                else r.model_copy(update={"threshold": float(thr)})
            )
        out.append(r)
    out += [r for r in p["add_rules"] if r["id"] not in ids]
    return out
