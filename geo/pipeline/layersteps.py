"""The layers of a run built and carried to the other level, on both cores of a large run.

Each layer is one step (:meth:`despro.pipeline.engines.Engine.build_layer`) followed by
its transfer (:func:`despro.transfer.layers.transfer_layer`), both kept in the step cache.
The layers do not depend on one another, so on a run of at least
:data:`despro.pipeline.background.MIN_VILLAGES` villages, with the local engine on a
platform that forks, the layers still to be built alternate between this process and one
forked copy (:class:`despro.pipeline.background.ForkedCall`): nationally the backbone's
distances and the products are computed while the broadband towers, the phone tables and
the censuses are read here, where one core used to wait. The results, their data-quality
notes and the cache's record of hits and misses come back from the copy and are merged in
the layers' registry order, so the outputs are the same as from one process (tested).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from despro.layer import LayerResult, Notes
from despro.pipeline import background
from despro.pipeline.cache import StepCache
from despro.transfer.layers import Transferred

#: ``(layer module, its settings)`` in registry order
Todo = list[tuple[Any, Any]]


def build_layers(
    todo: Todo,
    build: Callable[[Any, Any, Notes], LayerResult],
    carry: Callable[[LayerResult], Transferred],
    keys: dict[str, str],
    cache: StepCache | None,
    notes: Notes,
    parallel: bool,
    done: Callable[[str, LayerResult], None] = lambda name, r: None,
) -> tuple[dict[str, LayerResult], dict[str, Transferred]]:
    """Every layer of ``todo`` built and transferred, from the cache where it holds them.

    Parameters
    ----------
    todo : list of (module, settings)
        The configured layers, in registry order.
    build : callable
        ``build(layer, settings, notes) -> LayerResult`` (the engine's ``build_layer``).
    carry : callable
        ``carry(result) -> Transferred`` (the transfer with the run's weights).
    keys : dict
        Step cache key per layer name (:func:`despro.pipeline.runner.step_keys`).
    cache : StepCache or None
        Where finished steps are kept between runs.
    notes : Notes
        Receives each step's data-quality notes, in registry order.
    parallel : bool
        Allow a forked copy to build every second layer still missing from the cache.
    done : callable, optional
        Called with each layer's name and result once it is known (progress lines).

    Returns
    -------
    (dict, dict)
        Layer name -> :class:`LayerResult` and -> :class:`Transferred`, in registry order.
    """
    missing = [
        (layer, cfg)
        for layer, cfg in todo
        if cache is None
        or not cache.has(layer.NAME, keys[layer.NAME])
        or not cache.has(f"{layer.NAME}.transfer", keys[layer.NAME])
    ]
    aside = missing[1::2] if parallel and len(missing) > 1 and background.can_fork() else []
    aside_names = {layer.NAME for layer, _ in aside}

    def one(layer, cfg) -> tuple[LayerResult, Transferred, list, list, list]:
        """A layer and its transfer, with the notes and cache records they added."""
        step_notes = Notes()
        n_hits = len(cache.hits) if cache is not None else 0
        n_misses = len(cache.misses) if cache is not None else 0
        name = layer.NAME
        r = cached_step(cache, name, keys[name], step_notes, lambda n: build(layer, cfg, n))
        t = cached_step(cache, f"{name}.transfer", keys[name], step_notes, lambda n: carry(r))
        hits = cache.hits[n_hits:] if cache is not None else []
        misses = cache.misses[n_misses:] if cache is not None else []
        return r, t, step_notes.items, hits, misses

    got: dict[str, tuple] = {}
    forked = None
    try:
        if aside:
            forked = background.ForkedCall(
                lambda: {layer.NAME: one(layer, cfg) for layer, cfg in aside},
                what="building layers beside the run",
            )
        for layer, cfg in todo:
            if layer.NAME not in aside_names:
                got[layer.NAME] = one(layer, cfg)
                done(layer.NAME, got[layer.NAME][0])
        if forked is not None:
            from_copy = forked.result()
            forked = None
            for name, item in from_copy.items():
                got[name] = item
                if cache is not None:  # the copy's record of the cache, kept here
                    cache.hits.extend(item[3])
                    cache.misses.extend(item[4])
                done(name, item[0])
    finally:
        if forked is not None:
            forked.kill()
    results, moved = {}, {}
    for layer, _ in todo:  # registry order, whichever process built it
        r, t, step_notes, _, _ = got[layer.NAME]
        notes.items.extend(step_notes)
        results[layer.NAME], moved[layer.NAME] = r, t
    return results, moved


def cached_step(
    cache: StepCache | None, name: str, key: str, notes: Notes, make: Callable[[Notes], Any]
) -> Any:
    """``make(step_notes)``'s value, or the cache's copy of it.

    Parameters
    ----------
    cache : StepCache or None
    name, key : str
        The step and its cache key.
    notes : Notes
        Receives the step's data-quality notes (kept with the value in the cache, so a
        cached step reports what it reported when it was built).
    make : callable
        Builds the value, writing its notes to the ``Notes`` it is given.

    Returns
    -------
    object
        The step's value.
    """
    hit = cache.get(name, key) if cache is not None else None
    if hit is None:
        step_notes = Notes()
        hit = (make(step_notes), step_notes.items)
        if cache is not None:
            cache.put(name, key, hit)
    notes.items.extend(hit[1])
    return hit[0]
