"""despro layers: one module per input layer, and the registry that lists them.

Every layer module has the same parts (see :class:`despro.layer.Layer`):

``NAME``, ``LEVEL``
    its config section ``[layers.<NAME>]`` and the level of its table ('cell' or
    'village');
``Settings``
    the pydantic model of its section (``Config.layers`` is built from the registry);
``read(cfg, config, notes, villages) -> LayerInputs``
    opens and checks its inputs (contracts, codes, CRS, joins with the villages), and
    nothing else: ``despro validate`` runs only this;
``aggregate(inputs, cfg, study, notes) -> LayerResult``
    the inputs onto the study's cells or villages, as declared additive variables;
``derive(values, additive, attributes, result)`` (optional)
    village variables computed after the transfer;
``cell_local(cfg)`` (optional)
    True when a cell's row depends on that cell alone, so the dask engine may build
    the table per partition of cells;
``CHOROPLETHS``, ``LABELS``
    its cell layers on the map site and their labels ('id' and 'en');
``TITLE``, ``PROVIDES``
    its name in texts ("perlu data kurir") and the variables it can give that a rule
    may name, so a rule whose layer is not configured still names the data it needs
    (:func:`providers`, :func:`titles`).

:data:`LAYERS` lists the ``[layers.*]`` layers in run order (the order of their
columns); :data:`WEIGHTS` is the population raster of ``[population]``, run first
because it weights the transfers; :data:`VILLAGES` reads ``[villages]``. Adding a
layer is one module plus one line in :data:`LAYERS`; :func:`registered` adds one for
a while (tests, notebooks).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from despro.layer import Layer
from despro.layers import (
    backbone,
    broadband,
    census,
    courier,
    population,
    products,
    sellers,
    smartphone,
    villages,
)

#: the ``[layers.<name>]`` layers, in run order
LAYERS: list[Layer] = [broadband, backbone, smartphone, courier, products, census, sellers]

#: the ``[population]`` layer: its raster weights the village <-> cell transfers
WEIGHTS: Layer = population

#: the ``[villages]`` reader: the rows of the study (not a layer: no variables of its own)
VILLAGES = villages


def all_layers() -> list[Layer]:
    """Every layer a run may build: :data:`WEIGHTS` first, then :data:`LAYERS`."""
    return [WEIGHTS, *LAYERS]


def get(name: str) -> Layer:
    """The registered layer called ``name`` (``population`` included)."""
    for layer in all_layers():
        if layer.NAME == name:
            return layer
    known = [layer.NAME for layer in all_layers()]
    raise KeyError(f"no layer {name!r} in the registry (despro.layers.LAYERS); known: {known}")


def providers() -> dict[str, str]:
    """Variable -> the registered layer that can give it (each layer's ``PROVIDES``)."""
    return {var: layer.NAME for layer in all_layers() for var in layer.PROVIDES}


def titles(lang: str = "id") -> dict[str, str]:
    """Layer name -> its readable name in ``lang`` ('id' or 'en'; each layer's ``TITLE``)."""
    return {layer.NAME: layer.TITLE[lang] for layer in all_layers()}


@contextmanager
def registered(layer: Layer) -> Iterator[Layer]:
    """Add ``layer`` to :data:`LAYERS` (last) for the duration of a ``with`` block.

    The configuration's ``[layers]`` model is rebuilt on entry and on exit, so a
    ``[layers.<NAME>]`` section parses while the layer is registered.
    """
    from despro.config import settings

    if any(existing.NAME == layer.NAME for existing in all_layers()):
        raise ValueError(f"a layer called {layer.NAME!r} is already registered")
    LAYERS.append(layer)
    settings.refresh_layers()
    try:
        yield layer
    finally:
        LAYERS.remove(layer)
        settings.refresh_layers()
