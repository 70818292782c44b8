"""One call for the whole job: run -> write the tables -> choose the pilots -> write -> map.

``despro demo``, ``despro run`` and ``despro select`` are this function with different
switches; from Python::

    import despro
    job = despro.run_job("data/sample/despro.toml", select=True)
    job.result.villages      # the scored villages
    job.plan.shortlist       # the optimised pilots
    job.map_page             # maps/index.html

All or nothing: the tables, the selection files and the map site are written into
staging folders beside their targets and switched in together only when every writer
succeeded (:mod:`despro.io.staging`); any failure, a
:class:`~despro.errors.DesproError` or a crash while drawing the maps, leaves the
previous run's files exactly as they were.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from despro.config.settings import Config, SelectionConfig, load_config
from despro.io.staging import Staging
from despro.pipeline import background, runner
from despro.pipeline.runner import Progress, Result

if TYPE_CHECKING:  # pragma: no cover
    from despro.io.postgis import ExportSummary
    from despro.rollout.waves import Plan
    from despro.select.pilots import PilotPlan


@dataclass
class Job:
    """What :func:`run_job` computed and wrote.

    Attributes
    ----------
    result : Result
        The scored run (:func:`despro.pipeline.runner.run`).
    plan : PilotPlan or None
        The chosen pilots (:func:`despro.select.pilots.plan_pilots`), when selecting.
    output_dir : Path or None
        Folder of the tables, when written.
    outputs : dict of str to Path
        File name -> path of the tables written (:func:`despro.io.outputs.write_outputs`).
    selection_dir : Path or None
        Folder of the selection files, when selecting.
    selection_files : dict of str to Path
        File name -> path (:func:`despro.io.selection.write_plan`).
    map_page : Path or None
        ``index.html`` of the map site, when written.
    exported : ExportSummary or None
        The PostGIS export (``[output.postgis] on_run``), when one ran.
    rollout : Plan or None
        The rollout plan (:func:`despro.plan`), when the config has a ``[plan]`` section.
    rollout_files : dict of str to Path
        File name -> path (:func:`despro.io.rollout.write_rollout`, ``<output_dir>/plan``).
    """

    result: Result
    plan: PilotPlan | None = None
    output_dir: Path | None = None
    outputs: dict[str, Path] = field(default_factory=dict)
    selection_dir: Path | None = None
    selection_files: dict[str, Path] = field(default_factory=dict)
    map_page: Path | None = None
    exported: ExportSummary | None = None
    rollout: Plan | None = None
    rollout_files: dict[str, Path] = field(default_factory=dict)


def run_job(
    config: Config | str | Path,
    output_dir: Path | str | None = None,
    maps_dir: Path | str | None = None,
    lang: str | None = None,
    *,
    select: bool = False,
    selection: SelectionConfig | None = None,
    marginal: bool = True,
    tables: bool = True,
    maps: bool = True,
    selection_dir: Path | str | None = None,
    verbose: bool = False,
    single_file: bool = False,
    rollout: bool | None = None,
    **engine,
) -> Job:
    """Run a config, write its tables, choose and write the pilots, draw the map site.

    Parameters
    ----------
    config : Config, str or Path
        A :class:`~despro.config.settings.Config` or the path of a ``despro.toml``.
    output_dir : Path or str, optional
        Folder of the tables (default: the config's ``run.output_dir``).
    maps_dir : Path or str, optional
        Folder of the map site (default: the config's ``run.maps_dir``).
    lang : {'id', 'en'}, optional
        Map language (default: the config's ``run.lang``).
    select : bool
        Also choose the pilots (``[selection]``), write them and draw them on the maps
        (clusters, agents, imputed values).
    selection : SelectionConfig, optional
        Selection settings for this job instead of the config's ``[selection]``
        (implies ``select``).
    marginal : bool
        Compute each pick's marginal value (one re-solve per pick).
    tables : bool
        Write the run's tables to ``output_dir`` (and export them to PostGIS when the
        config's ``[output.postgis] on_run`` says so).
    maps : bool
        Write the map site.
    selection_dir : Path or str, optional
        Folder of the selection files (default: ``<output_dir>/selection``).
    verbose : bool
        Print timed progress lines to stderr.
    single_file : bool
        Write the map as one self-contained ``index.html`` (small runs).
    rollout : bool, optional
        Also make the rollout plan (:func:`despro.plan`, without the binding-constraint
        re-solves), write it to ``<output_dir>/plan`` and draw it on the map; default:
        when the config file has a ``[plan]`` section.
    **engine
        ``engine`` and the dask options of :func:`despro.pipeline.runner.run`.

    Returns
    -------
    Job
        The result, the plan and the paths written.
    """
    from despro.io.outputs import write_outputs
    from despro.io.selection import write_plan
    from despro.mapsite.analysis import from_plan
    from despro.mapsite.site import write_map
    from despro.select.pilots import plan_pilots

    cfg = config if isinstance(config, Config) else load_config(config)
    if selection is not None:
        cfg = cfg.model_copy(update={"selection": selection})
        select = True
    out = Path(output_dir) if output_dir is not None else cfg.path(cfg.run.output_dir)
    start = time.perf_counter()
    job = Job(runner.run(cfg, verbose=verbose, **engine))
    progress = Progress(verbose=verbose, t0=start)  # the writing steps, timed as the run's
    # all or nothing: every writer writes into staging folders beside its target; the
    # targets change only when all of them succeeded (despro.io.staging)
    with Staging() as st, ExitStack() as stack:
        if select:  # first, so villages.gpkg gets the pilots, agents and clusters layers
            job.plan = plan_pilots(
                job.result,
                cfg.selection,
                marginal=marginal,
                log=lambda name, msg: progress.step(name, msg),
            )
        if rollout if rollout is not None else "plan" in cfg.model_fields_set:
            from despro.rollout.api import plan as make_rollout

            job.rollout = make_rollout(job.result, explain=False)
        if tables:
            st.folder(out)  # staged first: a maps folder inside it is staged within it
        drawing = None
        if maps:
            target = Path(maps_dir) if maps_dir is not None else cfg.path(cfg.run.maps_dir)

            def draw() -> Path:
                return write_map(
                    job.result,
                    st.folder(target),
                    lang or cfg.run.lang,
                    analysis=from_plan(job.plan) if job.plan is not None else None,
                    single_file=single_file,
                    rollout=job.rollout,
                )

            st.folder(target)  # made here, so the commit (here) knows it
            if (
                tables
                and background.can_fork()
                and len(job.result.villages) >= background.MIN_VILLAGES
            ):  # a large run: the map drawn by a forked copy while the tables are written
                drawing = stack.enter_context(background.ForkedCall(draw))
                progress.step("map", "map: drawn by a second process while the tables are written")
        if tables:
            job.output_dir = out
            job.outputs = _moved(
                write_outputs(job.result, st.folder(out), plan=job.plan, lang=lang),
                st.folder(out),
                out,
            )
            progress.step("outputs", f"tables: {len(job.outputs)} files written to {out.name}/")
        if select:
            sel = Path(selection_dir) if selection_dir is not None else out / "selection"
            job.selection_dir = sel
            job.selection_files = _moved(write_plan(job.plan, st.folder(sel)), st.folder(sel), sel)
        if tables and job.rollout is not None:
            from despro.io.rollout import write_rollout

            pdir = out / "plan"
            job.rollout_files = _moved(
                write_rollout(job.rollout, st.folder(pdir)), st.folder(pdir), pdir
            )
        if maps:
            page = drawing.result() if drawing is not None else draw()
            job.map_page = target / page.relative_to(st.folder(target))
            progress.step("site", f"map: {target.name}/{job.map_page.name} written")
    pg = cfg.output.postgis
    if tables and pg is not None and pg.on_run:
        from despro.io.postgis_run import after_run

        job.exported = after_run(job.result, out)
    return job


def _moved(files: dict[str, Path], stage: Path, target: Path) -> dict[str, Path]:
    """The paths ``files`` (written into ``stage``) will have once committed to ``target``."""
    return {k: target / Path(v).relative_to(stage) for k, v in files.items()}
