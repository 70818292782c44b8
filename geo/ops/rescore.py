"""Scheduled rescoring: detect changed inputs, recompute only what they affect, keep history.

:func:`rescore` is what ``despro rescore`` runs. Steps (see :mod:`despro.ops.runs`
for the folder layout and the crash-safety argument):

1. take the output folder's lock (refuse if another run holds it);
2. repair what a killed earlier run left (interrupted rows, partial folders);
3. hash the config and every input file into per-step keys; if nothing differs
   from the last successful run, stop: "unchanged" (a fast no-op);
4. run the pipeline with the step cache, so only steps whose keys changed are
   rebuilt (``recomputed`` in the history);
5. write the run into ``runs/<id>.partial``, with a change report against the
   previous run, rename it to ``runs/<id>``, mark the row successful, switch
   ``latest``; prune old runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from despro.config.settings import Config, load_config
from despro.errors import DesproError
from despro.ops.runs import RunStore, _now, fault_point, new_run_id
from despro.pipeline.cache import StepCache


@dataclass
class RescoreOutcome:
    """What a rescore did."""

    status: str  # "success" or "unchanged"
    run_id: str | None
    previous_id: str | None
    recomputed: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    tier_changes: int = 0
    villages_changed: int = 0


# Settings that cannot change what a rescore writes: how the work is spread over
# processes (the dask engine is bit-identical to the local one), the PostGIS export
# (``despro export``) and pilot selection (``despro select``, run on demand).
NOT_SCORED = {"run": {"engine", "dask", "partition_resolution"}, "output": True, "selection": True}


def config_hash(cfg: Config) -> str:
    """sha256 of the config settings that affect the scored outputs.

    Thresholds, weights, paths and layer options count; the settings in
    :data:`NOT_SCORED` (engine, PostGIS export, ``[selection]``) do not, so
    changing them does not trigger a rescore.
    """
    return hashlib.sha256(cfg.model_dump_json(exclude=NOT_SCORED).encode()).hexdigest()[:32]


def rescore(
    config_path: str | Path,
    out: str | Path | None = None,
    keep: int = 10,
    force: bool = False,
    verbose: bool = True,
    log_format: str = "text",
    write_maps: bool = True,
) -> RescoreOutcome:
    """Rescore if any input or the config changed since the last successful run.

    Parameters
    ----------
    config_path : path
        ``despro.toml``.
    out : path, optional
        Output folder (default: the config's ``run.output_dir``).
    keep : int
        Successful runs to keep (older run folders are deleted; history rows stay).
    force : bool
        Run even when nothing changed.
    """
    from despro.io.outputs import write_outputs
    from despro.mapsite.site import write_map
    from despro.ops.rundiff import diff_runs, tier_changes, write_diff
    from despro.pipeline.runner import run, step_keys

    if keep < 1:
        raise DesproError("keep must be >= 1")
    cfg = load_config(config_path)
    store = RunStore(out if out is not None else cfg.path(cfg.run.output_dir))
    with store.lock():
        recovered = store.recover()
        keys = step_keys(cfg)
        chash = config_hash(cfg)
        prev = store.last_success()
        if prev and not force and prev.step_keys == keys and prev.config_hash == chash:
            rid = new_run_id()
            store.insert(
                id=rid,
                started_utc=_now(),
                finished_utc=_now(),
                status="unchanged",
                config_file=str(config_path),
                config_hash=chash,
                step_keys=keys,
                message=f"nothing changed since run {prev.id}",
            )
            return RescoreOutcome("unchanged", None, prev.id, recovered=recovered)

        rid = new_run_id()
        store.insert(
            id=rid,
            started_utc=_now(),
            status="running",
            config_file=str(config_path),
            config_hash=chash,
            step_keys=keys,
            pid=os.getpid(),
        )
        try:
            fault_point("scoring", store.out)
            cache = StepCache(store.cache_dir)
            result = run(cfg, verbose=verbose, cache=cache, log_format=log_format)
            partial = store.runs_dir / f"{rid}.partial"
            files = write_outputs(result, partial)
            n_changed = n_tier = 0
            if prev is not None:
                changes = diff_runs(store.runs_dir / prev.id, partial)
                write_diff(changes, prev.id, rid, partial / "changes.csv", partial / "changes.html")
                n_changed = int(changes["village_code"].nunique())
                n_tier = len(tier_changes(changes))
            if write_maps:
                links = {"changes": "../changes.html"} if prev is not None else None
                write_map(result, partial / "maps", cfg.run.lang, links=links, cache=cache)
            fault_point("writing", store.out)
            os.replace(partial, store.runs_dir / rid)
            fault_point("committing", store.out)
            man = json.loads((store.runs_dir / rid / files["manifest.json"].name).read_text())
            store.update(
                rid,
                status="success",
                finished_utc=_now(),
                recomputed=cache.rebuilt,
                inputs=man["inputs"],
                counts=man["counts"],
                timings=result.timings,
                message=f"{n_changed} villages changed, {n_tier} changed tier"
                if prev
                else "first run",
            )
            fault_point("switching", store.out)
            store.switch_latest(rid)
        except BaseException as exc:
            store.update(
                rid,
                status="failed",
                finished_utc=_now(),
                message=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            )
            shutil.rmtree(store.runs_dir / f"{rid}.partial", ignore_errors=True)
            raise
        pruned = store.prune(keep)
        return RescoreOutcome(
            "success",
            rid,
            prev.id if prev else None,
            cache.rebuilt,
            recovered,
            pruned,
            n_tier,
            n_changed,
        )
