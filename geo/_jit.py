"""Compiled kernels: one place that says how despro uses numba.

The inner loops of the aggregation engine (walking cell edges through raster pixels,
village boundaries through hexagons) are written as plain Python over numpy arrays and
compiled by numba. ``njit`` compiles on first call and caches the machine code on disk
(next to the module, or in the user's cache directory when the package is read-only), so
only the first run after an install pays the compile time. ``nogil`` lets two threads run
compiled kernels at once.
"""

from __future__ import annotations

import functools

import numba

njit = functools.partial(numba.njit, cache=True, nogil=True)
"""``numba.njit`` with despro's defaults: machine code cached on disk, GIL released."""
