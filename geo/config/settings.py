"""The run configuration (``despro.toml``): one validated object, defaults in one place.

Paths in the file are relative to the file's folder. :func:`load_config` fixes that
folder as an absolute path (:attr:`Config.root`), so :meth:`Config.resolve` and
:meth:`Config.input_paths` give absolute paths whatever the working directory later is;
:meth:`Config.path` keeps the form the outputs record (the file's folder as given, joined
with the path as written), so no output holds a path the config did not spell out.
A loaded config is frozen: change it with ``model_copy(update=...)``.

Caches kept between runs (raster -> cell mappings) go to ``[run] cache_dir``, else to
the folder named by the environment variable ``DESPRO_CACHE`` (see
:meth:`Config.cache_path`). Validation errors name the key, the value and what was
expected::

    despro.toml, key 'run.resolution': Input should be less than or equal to 15 (got 17)
"""

from __future__ import annotations

import os
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    Field,
    Strict,
    ValidationError,
    create_model,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from despro import layers as _registry
from despro.config.base import Model as _Model
from despro.config.env import CACHE_ENV
from despro.config.plan import PlanConfig
from despro.config.profiles import DEFAULT_PROFILE, apply_profile
from despro.config.urls import mask_url
from despro.config.vocab import EVIDENCE_ORDER, PILOT_TIERS, READY, PilotTier, TierName
from despro.errors import ConfigError, MissingConfigError


class DaskConfig(_Model):
    """``[run.dask]``: the cluster of the ``dask`` engine (:mod:`despro.pipeline.dask`)."""

    partitions: int | None = Field(
        None,
        ge=1,
        description="tasks per partitioned step; "
        "default: twice the cluster's worker threads, at most one "
        "per parent cell",
    )
    workers: int | None = Field(
        None, ge=1, description="LocalCluster workers; default: sized to the machine by dask"
    )
    threads_per_worker: int | None = Field(
        None, ge=1, description="default: 1 when 'workers' is set, else dask's choice"
    )
    processes: bool = Field(
        True, description="workers in separate processes (false: threads of this process)"
    )
    scheduler: str | None = Field(
        None,
        description="address of an existing dask scheduler "
        "(tcp://host:8786) instead of a LocalCluster",
    )


class RunConfig(_Model):
    """Run-wide settings."""

    name: str = "despro"
    resolution: int = Field(
        8, ge=0, le=15, strict=True, description="H3 resolution of the cell table"
    )
    output_dir: Path = Path("output")
    maps_dir: Path = Path("maps")
    weights: Literal["area", "population"] = Field(
        "population",
        description="weights of village <-> cell transfers; "
        "'population' needs [population] and falls back to area without it",
    )
    lang: Literal["id", "en"] = "id"
    engine: Literal["local", "dask"] = Field(
        "local",
        description="local: this process; dask: partitioned by H3 parent cell on "
        "a dask cluster, same results (see README 'Scaling out')",
    )
    partition_resolution: int = Field(
        3,
        ge=0,
        le=15,
        strict=True,
        description="H3 resolution of the "
        "parent cells that partition the work (dask engine); "
        "at most run.resolution",
    )
    dask: DaskConfig = Field(default_factory=DaskConfig)
    outside_indonesia: Literal["drop", "reject"] | None = Field(
        None,
        description="places outside Indonesia's land and sea: 'drop' drops villages, courier "
        "outlets, towers and sites abroad (each layer reports how many, with codes / rows); "
        "'reject' makes any of them an error naming it; unset (the default): a village "
        "abroad is an error (a wrong file or CRS), outlets, towers and sites abroad are "
        "dropped and reported (worldwide extracts hold other countries' points). Backbone "
        "lines are clipped in every case (cables land abroad)",
    )
    cache_dir: Path | None = Field(
        None,
        exclude=True,  # where this machine keeps caches: not a setting of the results
        description="folder of the caches kept between runs (raster -> cell mappings), "
        f"relative to this file; default: ${CACHE_ENV}, else none (kept in memory only)",
    )

    @model_validator(mode="after")
    def _parent_not_finer(self) -> RunConfig:
        if self.partition_resolution > self.resolution:
            raise ValueError(
                f"partition_resolution {self.partition_resolution} is finer than "
                f"resolution {self.resolution}; use a coarser parent (e.g. 3)"
            )
        return self


class VillagesConfig(_Model):
    """Village file and its column names."""

    path: Path
    layer: str | None = None
    code: str = "village_code"
    name: str = "village_name"
    regency_code: str | None = "regency_code"
    province_code: str | None = "province_code"
    population: str | None = "population"
    households: str | None = "households"
    bbox: tuple[float, float, float, float] | None = Field(
        None, description="optional lon/lat filter (minx, miny, maxx, maxy) applied on read"
    )
    code_system: Literal["kemendagri", "bps", "name"] = Field(
        "kemendagri",
        description="'kemendagri': codes as Kemendagri publishes them, dotted or "
        "not, HDX-style 'ID' prefix dropped; 'bps': BPS codes (e.g. HDX COD-AB P-codes) matched "
        "to Kemendagri by name within parents (needs names, regency_name, district_name); "
        "'name': no codes (geoBoundaries shapeName): village names matched within code_prefix",
    )
    names: Path | None = Field(
        None,
        description="Kemendagri code list (kode, nama), e.g. "
        "codes_kemendagri.csv: needed by code_system 'bps' and 'name'; "
        "with any code system it names regencies and provinces",
    )
    regency_name: str | None = Field(None, description="column of regency names ('bps')")
    district_name: str | None = Field(None, description="column of district names ('bps')")
    code_prefix: str | None = Field(
        None,
        description="keep only villages whose 10-digit code starts with this (e.g. '51' for Bali)",
    )


def layers_model() -> type[_Model]:
    """The ``[layers]`` model: one optional section per layer of the registry.

    Each layer module owns its section's model (``Settings``, see
    :mod:`despro.layers`); this builds the table of them, so ``[layers.<name>]``
    parses exactly as the layer's model says, and an unknown section or key is
    reported like any other unknown key.
    """
    return create_model(
        "LayersConfig",
        __base__=_Model,
        __module__=__name__,
        __doc__="``[layers]``: one optional section per registered layer.",
        **{layer.NAME: (layer.Settings | None, None) for layer in _registry.LAYERS},
    )


LayersConfig = layers_model()
PopulationConfig = _registry.WEIGHTS.Settings


class Evidence(_Model):
    """Another way to decide a rule: a variable from a different evidence level.

    ``op`` and ``threshold`` default to the rule's own.
    """

    level: str
    variable: str
    op: Literal[">=", "<=", ">", "<"] | None = None
    threshold: float | None = None


class Rule(_Model):
    """One Despro rule: ``variable op threshold``, optionally with alternative evidence."""

    id: str
    criterion: str
    variable: str
    op: Literal[">=", "<=", ">", "<"]
    threshold: float
    unit: str = ""
    role: Literal["gate", "info"] = "gate"
    label_en: str = ""
    label_id: str = ""
    source: str = ""
    evidence: list[Evidence] = Field(default_factory=list)


class CriteriaConfig(_Model):
    """Rules (default: Table 1, see ``criteria_defaults.toml``), overrides and the tier rule."""

    profile: str = Field(
        DEFAULT_PROFILE,
        description="named criteria profile (profiles.toml): despro-table1 (default), "
        "despro-strict, despro-loose, taobao-monitoring; applied before 'thresholds'",
    )
    rules: list[Rule] = Field(default_factory=lambda: default_rules())
    thresholds: dict[str, Annotated[float, Strict()]] = Field(
        default_factory=dict, description="rule id -> threshold override (a number)"
    )
    evidence_order: list[str] = Field(
        default_factory=lambda: list(EVIDENCE_ORDER),
        description="evidence levels, most trusted first: observed village census, village "
        "tables, cells modelled from points / rasters / tiles, regency, province and national "
        "statistics",
    )
    near_ready_fraction: float = Field(
        0.2,
        ge=0,
        le=1,
        description="a failing rule is 'near' when its value is within this "
        "fraction of the threshold (e.g. 0.2: smartphone 42 % vs 50 %)",
    )
    weights: dict[str, float] = Field(
        default_factory=lambda: {"P1": 1, "P2": 1, "P3": 1, "I1": 1, "I2": 1, "I3": 1},
        description="criterion -> weight in the composite score",
    )

    @model_validator(mode="before")
    @classmethod
    def _apply_thresholds(cls, data):
        """Set each overridden rule's threshold before the rules are built (they are frozen)."""
        if isinstance(data, dict) and data.get("profile", DEFAULT_PROFILE) != DEFAULT_PROFILE:
            rules = data.get("rules")
            rules = default_rules() if rules is None else rules
            if isinstance(rules, list) and isinstance(data["profile"], str):
                data = {**data, "rules": apply_profile(data["profile"], rules)}
        if not isinstance(data, dict) or not isinstance(data.get("thresholds"), dict):
            return data
        over = data["thresholds"]
        rules = data.get("rules")
        rules = default_rules() if rules is None else rules
        if not isinstance(rules, list):
            return data
        out = []
        for r in rules:
            rid = r.id if isinstance(r, Rule) else r.get("id") if isinstance(r, dict) else None
            if rid in over and not isinstance(over[rid], bool | str):
                try:
                    thr = float(over[rid])
                except (TypeError, ValueError):
                    thr = None  # left to the field's validation, which names the key
                if thr is not None:
                    r = (
                        r.model_copy(update={"threshold": thr})
                        if isinstance(r, Rule)
                        else {**r, "threshold": thr}
                    )
            out.append(r)
        return {**data, "rules": out}

    @model_validator(mode="after")
    def _check(self) -> CriteriaConfig:
        ids = [r.id for r in self.rules]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"duplicate rule id(s) {sorted(dup)}")
        unknown = set(self.thresholds) - set(ids)
        if unknown:
            raise ValueError(f"thresholds for unknown rule id(s) {sorted(unknown)}; known: {ids}")
        if any(w < 0 for w in self.weights.values()):
            raise ValueError("weights must be >= 0")
        criteria = {r.criterion for r in self.rules if r.role == "gate"}
        stray = set(self.weights) - criteria if "weights" in self.model_fields_set else set()
        if stray:
            raise ValueError(
                f"weights name no criterion: {sorted(stray)}; the criteria are "
                f"{sorted(criteria)} (criteria.weights = {{ P1 = 1, ... }})"
            )
        if self.weights and not any(self.weights.get(c, 0) > 0 for c in criteria):
            raise ValueError(
                "every weight is 0: the composite score would be undefined; give at least "
                "one criterion a weight above 0"
            )
        for r in self.rules:
            lo, hi = threshold_range(r.unit)
            if not lo <= r.threshold <= hi:
                key = f"thresholds.{r.id}" if r.id in self.thresholds else f"rules ({r.id})"
                raise ValueError(
                    f"{key}: threshold {r.threshold:g} is outside {lo:g} to {hi:g}, the range "
                    f"of the rule's unit '{r.unit}'; give a value in that unit "
                    f"(default {default_threshold(r.id)})"
                )
        return self


def threshold_range(unit: str) -> tuple[float, float]:
    """The values a threshold in ``unit`` can take (the rule's variable's physical range).

    Parameters
    ----------
    unit : str
        A rule's ``unit`` (``criteria_defaults.toml``).

    Returns
    -------
    (float, float)
        Lowest and highest sensible threshold, inclusive.
    """
    u = unit.lower()
    if "percent" in u and "per year" in u:  # growth: a market can shrink at most 100 %
        return -100.0, 10_000.0
    if "percent" in u:
        return 0.0, 100.0
    if "0-1" in u:
        return 0.0, 1.0
    if u == "mbps":
        return 0.0, 10_000.0  # 10 Gbps: beyond any fixed or mobile plan measured
    if u == "m":
        return 0.0, 5_000_000.0  # Indonesia spans ~5,100 km
    return 0.0, 1e12  # ratios, counts, money (rupiah or yuan per year)


def default_threshold(rule_id: str) -> str:
    """The default threshold of a Table 1 rule, as text ('none' for a custom rule)."""
    for r in default_rules():
        if r.id == rule_id:
            return f"{r.threshold:g}"
    return "none"


class ShortlistConfig(_Model):
    size: int = Field(20, ge=1)
    tiers: list[PilotTier] = Field([READY], min_length=1)


# Pilot selection (issue 7). Province code prefixes (Kemendagri) of the regions the paper
# pilots first: Sumatra 11-19 and 21 (Aceh ... Kepulauan Riau), Java 31-36 (DKI Jakarta,
# Jawa Barat, Jawa Tengah, DI Yogyakarta, Jawa Timur, Banten), Bali 51.
REGIONS: dict[str, tuple[str, ...]] = {
    "sumatra": ("11", "12", "13", "14", "15", "16", "17", "18", "19", "21"),
    "java": ("31", "32", "33", "34", "35", "36"),
    "bali": ("51",),
}


def _regions_ok(v: list[str]) -> list[str]:
    bad = [
        r for r in v if r.lower() not in REGIONS and not (r.isdigit() and len(r) in (2, 4, 6, 10))
    ]
    if bad:
        raise ValueError(
            f"unknown region(s) {bad}; use {sorted(REGIONS)} or a Kemendagri "
            "code prefix of 2 (province), 4 (regency), 6 or 10 digits"
        )
    return [r.lower() for r in v]


class AgentsConfig(_Model):
    """Agen Despro placement: maximal covering location (``count``) or fewest agents."""

    radius_km: float = Field(
        10, gt=0, description="an agent covers picks within this great-circle distance (km)"
    )
    count: int | None = Field(
        None,
        ge=1,
        description="agents to place (maximal covering); "
        "none: the fewest agents that cover every pick (set covering)",
    )
    sites: Literal["villages", "cells"] = Field(
        "villages", description="candidate sites: village points or H3 cell centres"
    )


class ClustersConfig(_Model):
    """Inter-village clusters: DBSCAN on great-circle distance, per product category."""

    eps_km: float = Field(5, gt=0, description="neighbour distance (km) between village points")
    min_villages: int = Field(2, ge=2, description="smallest cluster (villages)")
    tiers: list[TierName] = list(PILOT_TIERS)


class SensitivityConfig(_Model):
    """Monte Carlo over criterion weights and threshold sweeps."""

    draws: int = Field(500, ge=1, le=100_000, description="Dirichlet weight draws")
    concentration: float = Field(
        50,
        gt=0,
        description="Dirichlet concentration: alpha = "
        "concentration x normalised weights (larger = closer)",
    )
    seed: int = 42
    threshold_factors: list[float] = Field(
        default_factory=lambda: [0.8, 0.9, 1.1, 1.2],
        description="each gate rule's threshold is multiplied by each factor in turn",
    )
    robust_share: float = Field(
        0.8,
        ge=0,
        le=1,
        description="a robust pilot is in the top N in at least this share of weight draws",
    )


class SpeedConfig(_Model):
    """Ookla speeds: probability that the true mean download meets a threshold."""

    threshold_mbps: float | None = Field(None, gt=0, description="default: rule X1's threshold")
    log_sd: float = Field(
        1.0, gt=0, description="assumed spread of ln(download speed) between single tests"
    )
    min_tests: float = Field(20, ge=0, description="fewer tests than this are flagged")
    effective_n: Literal["tests", "devices"] = Field(
        "tests", description="sample size of the mean: tests, or devices (more cautious)"
    )


class ImputeConfig(_Model):
    """KNN imputation of missing indicators (flagged; never used unless opted into)."""

    variables: list[str] = Field(
        default_factory=lambda: [
            "pct_households_internet",
            "pct_individuals_mobile_phone",
            "pct_households_computer",
            "pct_area_4g_coverage",
            "download_mbps",
        ]
    )
    covariates: list[str] = Field(
        default_factory=lambda: ["backbone_distance_m", "courier_distance_m", "speedtest_tests"]
    )
    neighbours: int = Field(5, ge=1)


class ReadinessModelConfig(_Model):
    """Readiness classifier trained on villages known to have active online sellers."""

    labels: Path | None = Field(None, description="CSV: village_code [, active_sellers 0/1]")
    features: list[str] = Field(
        default_factory=list, description="default: every numeric declared variable"
    )
    folds: int = Field(5, ge=2, description="GroupKFold splits (by regency)")
    seed: int = 42


class SelectionConfig(_Model):
    """``[selection]``: optimised pilot shortlist and the analyses around it (issue 7)."""

    size: int = Field(10, ge=1, description="pilots to choose (N)")
    max_per_regency: int = Field(5, ge=1, description="at most K pilots per regency")
    tiers: list[TierName] = list(PILOT_TIERS)
    regions: list[str] = Field(
        default_factory=list,
        description="only villages in these regions (names or code prefixes); empty: everywhere",
    )
    priority_regions: list[str] = Field(default_factory=lambda: ["sumatra", "java", "bali"])
    priority_bonus: float = Field(10, ge=0, description="score points added in priority regions")
    product_weight: float = Field(
        0.5,
        ge=0,
        description="weight of the product-potential "
        "score (0-100, P1-P3 only) added to the composite score",
    )
    must_include: list[str] = Field(
        default_factory=list,
        description="village codes that stay (running pilots), whatever their tier",
    )
    exclude: list[str] = Field(default_factory=list, description="village codes never chosen")
    min_categories: int = Field(1, ge=0, description="distinct flagship categories among picks")
    courier_within_km: float | None = Field(
        None,
        gt=0,
        description="nearest courier outlet within this distance (km); unknown distance fails",
    )
    use_imputed: bool = Field(
        False,
        description="decide unknown rules with KNN-imputed values (picks are then marked imputed)",
    )
    agents: AgentsConfig = Field(default_factory=AgentsConfig)
    clusters: ClustersConfig = Field(default_factory=ClustersConfig)
    sensitivity: SensitivityConfig = Field(default_factory=SensitivityConfig)
    speed: SpeedConfig = Field(default_factory=SpeedConfig)
    impute: ImputeConfig = Field(default_factory=ImputeConfig)
    readiness: ReadinessModelConfig = Field(default_factory=ReadinessModelConfig)

    @field_validator("regions", "priority_regions")
    @classmethod
    def _known_regions(cls, v: list[str]) -> list[str]:
        return _regions_ok(v)


class PostgisConfig(_Model):
    """``[output.postgis]``: export each run to PostGIS (see :mod:`despro.io.postgis`)."""

    url: str | None = Field(
        None,
        description="libpq URL, e.g. postgresql://user@host/db; keep "
        "the password in PGPASSWORD or ~/.pgpass, not here",
    )
    url_env: str | None = Field(
        None, description="name of an environment variable holding the URL instead"
    )
    schema_name: str = Field("public", alias="schema", description="schema of the tables")
    prefix: str = Field(
        "despro_",
        pattern=r"^[a-z_][a-z0-9_]*$",
        description="table name prefix: <prefix>villages, <prefix>cells, ...",
    )
    mode: Literal["replace", "history"] = Field(
        "replace",
        description="replace: tables hold the latest run only; history: every "
        "run's rows, with <prefix>*_latest views",
    )
    on_run: bool = Field(True, description="export after 'despro run' writes its files")

    @field_serializer("url")
    def _mask(self, url: str | None) -> str | None:
        return mask_url(url)


class ModelConfig(_Model):
    """``[model]``: modelled evidence where nothing was observed (:mod:`despro.model`)."""

    enabled: bool = Field(
        False,
        description="fit per-rule models on observed villages, add <rule>_prob and p_ready",
    )
    observed_levels: list[str] = Field(
        default_factory=lambda: ["census"], description="evidence levels whose answers are labels"
    )
    min_per_class: int = Field(
        20, ge=1, description="a province trains a model with >= this many villages per answer"
    )
    seed: int = 42


class OutputConfig(_Model):
    """``[output]``: where results go besides the output folder."""

    postgis: PostgisConfig | None = None


class Config(_Model):
    """A whole run, as read from ``despro.toml``."""

    run: RunConfig = Field(default_factory=RunConfig)
    villages: VillagesConfig
    population: PopulationConfig | None = None
    layers: LayersConfig = Field(default_factory=LayersConfig)
    criteria: CriteriaConfig = Field(default_factory=CriteriaConfig)
    shortlist: ShortlistConfig = Field(default_factory=ShortlistConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    selection: SelectionConfig = Field(default_factory=SelectionConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    plan: PlanConfig = Field(default_factory=PlanConfig)
    base_dir: Path = Field(
        Path("."), exclude=True, description="the config file's folder, as it was given"
    )
    root: Path | None = Field(
        None, exclude=True, description="the config file's folder, absolute (set at load)"
    )
    source_file: Path | None = Field(None, exclude=True)

    def path(self, p: Path | str) -> Path:
        """A path from the config joined to the config file's folder as it was given.

        This is the form outputs and messages record (relative when the config file was
        named by a relative path); :meth:`resolve` gives the absolute path.

        Parameters
        ----------
        p : Path or str
            A path as written in the config (relative to its file, or absolute).

        Returns
        -------
        Path
            ``p`` when absolute, else ``base_dir / p``.
        """
        p = Path(p)
        return p if p.is_absolute() else (self.base_dir / p)

    def resolve(self, p: Path | str) -> Path:
        """A path from the config as an absolute path, against the folder fixed at load.

        Parameters
        ----------
        p : Path or str
            A path as written in the config (relative to its file, or absolute).

        Returns
        -------
        Path
            Absolute and normalised (``..`` and symbolic links resolved); independent of
            the working directory at the time of the call.
        """
        root = self.root if self.root is not None else self.base_dir.resolve()
        return (root / Path(p)).resolve()

    def portable(self, text: str | Path) -> str:
        """``text`` with every absolute path in it made relative to the config's folder.

        Outputs (criteria sources, data-quality notes, the manifest, map tooltips) must not
        carry the folders of the machine that ran despro: ``/home/ana/runs/data/x.csv``
        becomes ``data/x.csv`` for a config in ``/home/ana/runs``, and a file outside
        that folder keeps only its way from there (``../../shared/data/x.csv``).

        Parameters
        ----------
        text : str or Path
            A path, or text holding paths (separated by commas, spaces or semicolons).

        Returns
        -------
        str
            The same text with POSIX relative paths.
        """
        root = self.root if self.root is not None else self.base_dir.resolve()

        def rel(m: re.Match) -> str:
            return Path(os.path.relpath(m.group(0), root)).as_posix()

        return _ABSOLUTE_PATH.sub(rel, str(text))

    def input_paths(self) -> dict[str, Path]:
        """Every path the config names, resolved: dotted key -> absolute path.

        Keys follow the TOML (``villages.path``, ``layers.broadband.tiles.0``,
        ``run.output_dir``); sections that are not set are left out.
        """
        out: dict[str, Path] = {}

        def walk(value: object, key: str) -> None:
            if isinstance(value, BaseModel):
                for name in type(value).model_fields:
                    if not (value is self and name in _NOT_PATHS):
                        walk(getattr(value, name), f"{key}.{name}" if key else name)
            elif isinstance(value, list | tuple):
                for i, v in enumerate(value):
                    walk(v, f"{key}.{i}")
            elif isinstance(value, dict):
                for k, v in value.items():
                    walk(v, f"{key}.{k}")
            elif isinstance(value, Path):
                out[key] = self.resolve(value)

        walk(self, "")
        return out

    def cache_path(self) -> Path | None:
        """The folder of caches kept between runs, or None (caches stay in memory).

        ``[run] cache_dir`` (relative to the config file), else the environment variable
        ``DESPRO_CACHE`` (:data:`CACHE_ENV`), else None.
        """
        if self.run.cache_dir is not None:
            return self.resolve(self.run.cache_dir)
        env = os.environ.get(CACHE_ENV)
        return Path(env).expanduser().resolve() if env else None


_NOT_PATHS = ("base_dir", "root", "source_file")
#: an absolute POSIX path inside text: starts at "/" after a start, space, comma or quote
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~/:-])/(?:[^\s,;'\"|()<>]+)")


def refresh_layers() -> None:
    """Rebuild ``LayersConfig`` and ``Config.layers`` after the layer registry changed
    (see :func:`despro.layers.registered`)."""
    global LayersConfig
    LayersConfig = layers_model()
    Config.model_fields["layers"] = FieldInfo(annotation=LayersConfig, default_factory=LayersConfig)
    Config.model_rebuild(force=True)


def default_rules() -> list[Rule]:
    """Table 1 rules shipped with despro (``criteria_defaults.toml``)."""
    text = resources.files("despro.config").joinpath("criteria_defaults.toml").read_text("utf-8")
    return [Rule(**r) for r in tomllib.loads(text)["rules"]]


def _numeric(value: object) -> bool:
    """True for text that reads as a number ("34", " 2.5")."""
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def _format(err: ValidationError, file: str | None) -> ConfigError:
    errors = err.errors()
    # a threshold override is copied into its rule before validation: name the override
    e = next((x for x in errors if tuple(x["loc"][:2]) != ("criteria", "rules")), errors[0])
    key = ".".join(str(p) for p in e["loc"])
    got = e.get("input")
    msg = e["msg"].removeprefix("Value error, ")
    if e["type"] == "extra_forbidden":
        msg = "unknown key (check the spelling; see README 'Configuration')"
    elif e["type"] != "missing" and not isinstance(got, dict | list):
        msg += f" (got {got!r})"
    leaf = str(e["loc"][-1]) if e["loc"] else key
    if e["type"] == "string_type" and isinstance(got, int | float) and not isinstance(got, bool):
        msg += f'; TOML needs quotes around text: {leaf} = "{got}"'
    elif e["type"] in ("int_type", "float_type", "int_parsing", "float_parsing") and _numeric(got):
        msg += f"; write the number without quotes: {leaf} = {got.strip()}"
    elif e["type"] == "finite_number":
        msg += "; nan and inf are not settings: give a number"
    more = f"; and {len(err.errors()) - 1} more problem(s)" if len(err.errors()) > 1 else ""
    return ConfigError(msg + more, file=file, key=key)


def config_from_dict(data: dict, base_dir: Path | str = ".", file: str | None = None) -> Config:
    """Validate a config given as a dict (as parsed from TOML).

    Parameters
    ----------
    data : dict
        The TOML's tables.
    base_dir : Path or str
        Folder that relative paths in ``data`` are relative to; fixed here as an absolute
        path (:attr:`Config.root`), so later changes of the working directory do not move
        the inputs.
    file : str, optional
        The config file, named in errors and recorded in the manifest.

    Returns
    -------
    Config
        Frozen; copy it with ``model_copy(update=...)`` to change a setting.
    """
    try:
        cfg = Config(**data)
    except ValidationError as err:
        raise _format(err, file) from None
    return cfg.model_copy(
        update={
            "base_dir": Path(base_dir),
            "root": Path(base_dir).resolve(),
            "source_file": Path(file) if file else None,
        }
    )


_UTF8_FIX = (
    "save it as UTF-8 (an editor's 'Save as... > Encoding: UTF-8', or "
    "iconv -f {enc} -t UTF-8 despro.toml > despro-utf8.toml)"
)


def _config_text(path: Path) -> str:
    """The config's text: UTF-8, a UTF-8 byte order mark tolerated; other encodings named."""
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw[:200]:
        raise ConfigError(
            "the file is UTF-16 (Windows 'Unicode'), TOML must be UTF-8; "
            + _UTF8_FIX.format(enc="UTF-16"),
            file=path,
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ConfigError(
            f"line {line}: byte 0x{raw[err.start]:02x} is not UTF-8; the file looks like "
            "Windows-1252 / latin-1; " + _UTF8_FIX.format(enc="WINDOWS-1252"),
            file=path,
        ) from None


def _toml_hint(err: tomllib.TOMLDecodeError) -> str:
    text = str(err)
    if "Invalid value" in text or "Invalid statement" in text:
        return (
            '; text values need quotes (name = "demo", code_prefix = "34"), '
            "numbers none (resolution = 8)"
        )
    return ""


def load_config(path: str | Path, profile: str | None = None) -> Config:
    """Read and validate a ``despro.toml``.

    Parameters
    ----------
    path : str or Path
        The config file; relative paths inside it are relative to its folder.
    profile : str, optional
        A criteria profile (``profiles.toml``) instead of the file's ``[criteria] profile``.

    Returns
    -------
    Config
        Frozen settings; change them with ``model_copy(update=...)``.

    Raises
    ------
    MissingConfigError
        The file does not exist.
    ConfigError
        A key is unknown, missing or out of range (the message names it and the fix).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingConfigError("config file not found", file=path)
    try:
        data = tomllib.loads(_config_text(path))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"not valid TOML: {err}{_toml_hint(err)}", file=path) from None
    if profile is not None:
        data.setdefault("criteria", {})["profile"] = profile
    return config_from_dict(data, base_dir=path.parent, file=str(path))
