"""H3 hexagons inside one icosahedron face, drawn from the face's planar lattice.

H3 lays its cells on the 20 faces of an icosahedron through a gnomonic projection
centred on each face: on a face's tangent plane the cells of one resolution are the
hexagons of one regular lattice, so a cell lying wholly inside a face has its six
vertices at its centre plus six offsets that are the same for every such cell of
that face and resolution. Cells whose hexagon crosses a face edge (H3 moves those
vertices onto the next face's plane) and pentagons break this; they are detected
and left to the caller (:func:`box_hexagons` returns None).

:func:`box_hexagons` lists the cells whose centres lie in a lon/lat box with their
vertices, calling H3 only for cell ids (local IJ coordinates -> cells) and centres,
instead of computing every vertex of every cell through H3 (each vertex three times,
once per cell meeting there). Each face's lattice is fitted once per resolution on H3
centres around the face centre (:func:`face_lattice`) and every vertex is computed
from integer lattice coordinates, so a vertex has the same bits in each of its three
hexagons and in every box: a tiling of boxes leaves no slivers and does not change
the result. Everything taken from the lattice is checked against H3 before it is
used: every cell's centre, and the vertices of five cells spread over the box.

Coordinates: unit vectors on H3's sphere, latitude taken as spherical (as H3 does).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import h3
import numpy as np
import pyarrow as pa
from h3ronpy import cells_to_localij, localij_to_cells
from h3ronpy.vector import cells_to_coordinates

from despro._jit import njit

FIT_STEP = 256  # lattice steps between the cells a face's lattice is fitted on (at most)
# largest lattice-vs-H3 disagreement, as a share of one lattice step (a centre spacing):
# positions are compared in plane units or degrees scaled by the step, lattice
# coordinates (which count steps) directly
TOLERANCE = 1e-6


def _unit(lat, lng) -> np.ndarray:
    """Unit vectors (..., 3) of latitudes and longitudes in degrees."""
    lat, lng = np.deg2rad(np.asarray(lat, float)), np.deg2rad(np.asarray(lng, float))
    return np.stack([np.cos(lat) * np.cos(lng), np.cos(lat) * np.sin(lng), np.sin(lat)], -1)


@functools.cache
def face_centres() -> np.ndarray:
    """Unit vectors (20, 3) of the icosahedron's face centres.

    H3's 12 resolution-0 pentagons sit on the icosahedron's vertices; a face is three
    mutually adjacent vertices (63.4 degrees apart) and its centre their normalised sum.
    """
    v = _unit(*np.array([h3.cell_to_latlng(p) for p in h3.get_pentagons(0)]).T)
    faces = [
        t
        for t in itertools.combinations(range(12), 3)
        if all(v[a] @ v[b] > 0.4 for a, b in itertools.combinations(t, 2))
    ]
    c = np.array([v[list(t)].sum(axis=0) for t in faces])
    return c / np.linalg.norm(c, axis=1)[:, None]


def _frame(face: int) -> np.ndarray:
    """(3, 3): the face centre and two unit vectors spanning its tangent plane."""
    c = face_centres()[face]
    e1 = np.cross([0.0, 0.0, 1.0], c)
    e1 /= np.linalg.norm(e1)
    return np.stack([c, e1, np.cross(c, e1)])


def _project(frame: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Gnomonic plane coordinates (..., 2) of unit vectors (..., 3)."""
    d = x @ frame[0]
    return np.stack([x @ frame[1] / d, x @ frame[2] / d], -1)


@njit
def _row_ranges(outline, margin):
    """For each lattice row i from ``i0 = floor(min i) - margin`` to ``i1``, the range
    [j0, j1] of the closed ``outline`` (m, 2) of (i, j) points at i, widened by
    ``margin`` on every side. Returns (i0, j0 per row, j1 per row)."""
    i0 = int(np.floor(outline[:, 0].min())) - margin
    i1 = int(np.ceil(outline[:, 0].max())) + margin
    lo, hi = np.full(i1 - i0 + 1, np.inf), np.full(i1 - i0 + 1, -np.inf)
    m = outline.shape[0]
    for e in range(m):
        ai, aj = outline[e - 1, 0], outline[e - 1, 1]
        bi, bj = outline[e, 0], outline[e, 1]
        for i in range(int(np.floor(min(ai, bi))), int(np.ceil(max(ai, bi))) + 1):
            t = 0.0 if ai == bi else min(max((i - ai) / (bi - ai), 0.0), 1.0)
            j = aj + t * (bj - aj)
            for d in range(-margin, margin + 1):
                lo[i + d - i0] = min(lo[i + d - i0], j)
                hi[i + d - i0] = max(hi[i + d - i0], j)
    j0 = np.empty(i1 - i0 + 1, np.int64)
    j1 = np.empty(i1 - i0 + 1, np.int64)
    for r in range(i1 - i0 + 1):
        j0[r], j1[r] = int(np.floor(lo[r])) - margin, int(np.ceil(hi[r])) + margin
    return i0, j0, j1


@njit
def _lattice_hexagons(frame, origin, basis, i0, j0, j1, box, corners, slot, walls):
    """Lattice hexagons (i, j), ``i0 + r`` and ``j0[r] <= j <= j1[r]``, whose centre
    lies in the lon/lat ``box`` (min lng, min lat, max lng, max lat).

    A point with lattice coordinates (I / 3, J / 3) lies on the plane at ``origin +
    (I basis[0] + J basis[1]) / 3``: centres at (3i, 3j), vertices at (3i, 3j) +
    ``corners`` (k, 2). A vertex shared by three hexagons is computed once, from its
    integer coordinates: ``slot[I % 3, J % 3]`` names its class, and it is stored under
    its class and (I // 3, J // 3).

    Returns (i, j, centre lng, centre lat, vertices (n, k, 2) lng/lat, inside): inside
    is False if some vertex lies beyond one of the face's ``walls`` (m, 3): the plane
    point (u, v) is on the face iff ``w0 + u w1 + v w2 >= 0`` for every wall.
    """
    n, k = int((j1 - j0 + 1).sum()), corners.shape[0]
    ii, jj = np.empty(n, np.int32), np.empty(n, np.int32)
    lng, lat = np.empty(n), np.empty(n)
    m = 0
    for r in range(len(j0)):
        i = i0 + r
        for j in range(j0[r], j1[r] + 1):
            pu, pv = _plane(origin, basis, 3 * i, 3 * j)
            x, y = _lnglat(frame, pu, pv)
            if box[0] <= x <= box[2] and box[1] <= y <= box[3]:
                ii[m], jj[m], lng[m], lat[m] = i, j, x, y
                m += 1
    jmin = j0.min()
    cache = np.full((slot.max() + 1, len(j0) + 2, j1.max() - jmin + 3, 2), np.nan)
    verts = np.empty((m, k, 2))
    inside = True
    for c in range(m):
        for e in range(k):
            ci, cj = 3 * ii[c] + corners[e, 0], 3 * jj[c] + corners[e, 1]
            s, p, q = slot[ci % 3, cj % 3], ci // 3 - i0 + 1, cj // 3 - jmin + 1
            if np.isnan(cache[s, p, q, 0]):
                pu, pv = _plane(origin, basis, ci, cj)
                for w in range(walls.shape[0]):
                    if walls[w, 0] + pu * walls[w, 1] + pv * walls[w, 2] < 0:
                        inside = False
                cache[s, p, q, 0], cache[s, p, q, 1] = _lnglat(frame, pu, pv)
            verts[c, e, 0], verts[c, e, 1] = cache[s, p, q, 0], cache[s, p, q, 1]
    return ii[:m], jj[:m], lng[:m], lat[:m], verts, inside


@njit(inline="always")
def _plane(origin, basis, ci, cj):
    """Plane coordinates of lattice point (ci / 3, cj / 3)."""
    return (
        origin[0] + (ci * basis[0, 0] + cj * basis[1, 0]) / 3.0,
        origin[1] + (ci * basis[0, 1] + cj * basis[1, 1]) / 3.0,
    )


@njit(inline="always")
def _lnglat(frame, pu, pv):
    """Longitude, latitude (degrees) of the plane point (pu, pv)."""
    x = frame[0, 0] + pu * frame[1, 0] + pv * frame[2, 0]
    y = frame[0, 1] + pu * frame[1, 1] + pv * frame[2, 1]
    z = frame[0, 2] + pu * frame[1, 2] + pv * frame[2, 2]
    return np.degrees(np.arctan2(y, x)), np.degrees(np.arctan2(z, np.sqrt(x * x + y * y)))


def _walls(face: int, frame: np.ndarray) -> np.ndarray:
    """The face's region (points nearer its centre than any other face's) as half-planes
    of its gnomonic plane: for each other face centre f, ``(c - f) . x >= 0`` with
    ``x = c + u e1 + v e2``."""
    c = face_centres()
    w = c[face] - np.delete(c, face, axis=0)
    return w @ frame.T


def _localij(anchor: int, cells: np.ndarray) -> np.ndarray:
    """H3's local IJ coordinates (n, 2) of ``cells`` around ``anchor``."""
    ij = cells_to_localij(pa.array(np.asarray(cells, np.uint64)), anchor)
    return np.stack([np.asarray(ij.column(c).to_numpy()) for c in ("i", "j")], -1)


def _cells_at(anchor: int, ij: np.ndarray) -> np.ndarray | None:
    """Cells at local IJ coordinates around ``anchor``; None if any is undefined."""
    arr = pa.array(
        localij_to_cells(
            pa.array(np.full(len(ij), anchor, np.uint64)),
            pa.array(ij[:, 0].astype(np.int32)),
            pa.array(ij[:, 1].astype(np.int32)),
            set_failing_to_invalid=True,
        )
    )
    if arr.null_count:
        return None
    return np.asarray(arr.to_numpy(zero_copy_only=False)).astype(np.uint64)


def _centres(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """H3's centre longitudes and latitudes (degrees) of ``cells``."""
    rb = cells_to_coordinates(pa.array(cells))
    return (np.asarray(rb.column("lng").to_numpy()), np.asarray(rb.column("lat").to_numpy()))


def _hexagon_offsets(frame: np.ndarray, cell: int) -> np.ndarray | None:
    """Plane offsets (6, 2) of ``cell``'s vertices from its centre (None: not a hexagon)."""
    s = h3.int_to_str(int(cell))
    b = np.array(h3.cell_to_boundary(s))
    if len(b) != 6:
        return None
    return _project(frame, _unit(b[:, 0], b[:, 1])) - _project(frame, _unit(*h3.cell_to_latlng(s)))


@dataclass(frozen=True)
class FaceLattice:
    """The cell centres of one resolution on one face's plane: ``origin + i basis[0] +
    j basis[1]`` for integer (i, j) (the face's own coordinates, (0, 0) at the cell on
    the face centre); ``corners`` (6, 2): a hexagon's vertices in thirds of a step."""

    face: int
    frame: np.ndarray
    origin: np.ndarray
    basis: np.ndarray
    corners: np.ndarray

    @property
    def size(self) -> float:
        """Distance between neighbouring centres near the face centre (plane units)."""
        return float(np.linalg.norm(self.basis[0]))

    def coords(self, lng: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Fractional lattice coordinates (n, 2) of lon/lat points."""
        return self.plane_coords(_project(self.frame, _unit(lat, lng)))

    def plane_coords(self, p: np.ndarray) -> np.ndarray:
        """Fractional lattice coordinates (n, 2) of points (n, 2) of the face's plane."""
        return np.linalg.solve(self.basis.T, (p - self.origin).T).T


@functools.cache
def face_lattice(face: int, res: int) -> FaceLattice | None:
    """The lattice of ``face`` at ``res``, fitted on H3 centres around the face centre
    (None where H3's local coordinates fail there)."""
    frame = _frame(face)
    c = face_centres()[face]
    anchor = h3.str_to_int(
        h3.latlng_to_cell(np.degrees(np.arcsin(c[2])), np.degrees(np.arctan2(c[1], c[0])), res)
    )
    a_ij = _localij(anchor, np.array([anchor]))[0]
    step = min(FIT_STEP, 2 ** max(res - 2, 0))  # stay well inside the face
    steps = np.array([[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]]) * step
    fit_cells = _cells_at(anchor, a_ij + steps)
    if fit_cells is None:
        return None
    lng, lat = _centres(fit_cells)
    p = _project(frame, _unit(lat, lng))
    design = np.c_[np.ones(len(steps)), steps]
    coef = np.linalg.lstsq(design, p, rcond=None)[0]
    origin, basis = coef[0], coef[1:]
    size = float(np.linalg.norm(basis[0]))
    offsets = _hexagon_offsets(frame, anchor)
    if not size > 0 or np.abs(design @ coef - p).max() > TOLERANCE * size or offsets is None:
        return None
    thirds = 3 * np.linalg.solve(basis.T, offsets.T).T
    corners = np.rint(thirds).astype(np.int64)
    if np.abs(thirds - corners).max() > TOLERANCE:
        return None
    return FaceLattice(face, frame, origin, basis, corners)


def _local_transform(lattice: FaceLattice, anchor: int):
    """Integer map from the face lattice's (i, j) to H3's local IJ around ``anchor``:
    ``local = a_ij + m @ (ij - a_face)``; None if H3's neighbours disagree with it."""
    a_ij = _localij(anchor, np.array([anchor]))[0]
    near = _cells_at(anchor, a_ij + np.array([[0, 0], [1, 0], [0, 1]]))
    if near is None:
        return None
    ij = lattice.coords(*_centres(near))
    rounded = np.rint(ij)
    if np.abs(ij - rounded).max() > TOLERANCE:
        return None
    to_face = (rounded[1:] - rounded[0]).T.astype(np.int64)  # columns: local steps
    det = int(round(np.linalg.det(to_face)))
    if abs(det) != 1:
        return None
    m = np.rint(np.linalg.inv(to_face)).astype(np.int64)
    return a_ij, m, rounded[0].astype(np.int64)


def _box_outline(lattice: FaceLattice, walls: np.ndarray, box) -> np.ndarray | None:
    """The outline of the lon/lat ``box`` as a closed polygon (m, 2) of lattice
    coordinates, within a quarter step of the box's true (curved) outline; None if the
    box comes within half a step of leaving the face (the cells of the next face
    would then be missed: their centres are not points of this face's lattice).

    Meridians are straight lines on the gnomonic plane but parallels are not: near a
    pole a parallel strays from the chords between 16 points by many steps. The
    sides are sampled until the midpoints of the chords stray by at most a step
    (their halves then by about a quarter).
    """
    lng0, lat0, lng1, lat1 = box
    others = np.delete(face_centres(), lattice.face, axis=0)
    n = 16  # chords per side
    while True:
        t = np.linspace(0, 1, 2 * n, endpoint=False)  # chord ends and midpoints
        x = _unit(
            np.r_[
                np.full_like(t, lat0),
                lat0 + t * (lat1 - lat0),
                np.full_like(t, lat1),
                lat1 - t * (lat1 - lat0),
            ],
            np.r_[
                lng0 + t * (lng1 - lng0),
                np.full_like(t, lng1),
                lng1 - t * (lng1 - lng0),
                np.full_like(t, lng0),
            ],
        )
        if (x @ (lattice.frame[0] - others).T < 0).any():
            return None  # a point of the outline nearer another face's centre
        p = _project(lattice.frame, x)
        ij = lattice.plane_coords(p)
        ends = ij[::2]
        stray = np.abs(ij[1::2] - 0.5 * (ends + np.roll(ends, -1, axis=0))).max()
        if stray <= 1.0:
            break
        n = int(np.ceil(1.5 * n * np.sqrt(stray)))
    # distance (plane units) of each outline point from each wall
    inside = (walls[:, 0] + p @ walls[:, 1:].T) / np.linalg.norm(walls[:, 1:], axis=1)
    if inside.min() < 0.5 * lattice.size:
        return None
    return ij


def box_hexagons(
    lng0: float, lat0: float, lng1: float, lat1: float, res: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """The H3 cells at ``res`` whose centres lie in a lon/lat box, with their vertices.

    Every vertex is computed from the integer lattice coordinates of its face, so it
    has the same bits in each of its three hexagons and whichever box lists them.

    Parameters
    ----------
    lng0, lat0, lng1, lat1 : float
        The box (degrees), less than a few degrees wide.

    Returns
    -------
    (cells, verts) or None
        ``cells`` uint64 (n,) in lattice order; ``verts`` (n, 6, 2) lng/lat of each
        cell's vertices in H3's order (as :func:`despro.grid.cells.cell_vertices` gives
        them, to ~1e-10 of a hexagon's size). None when the lattice cannot be used: the
        box's cells leave one icosahedron face (or the box comes within half a
        step of its edge), include a pentagon, or any check against H3 fails; the
        caller then asks H3 for every vertex.
    """
    anchor = h3.str_to_int(h3.latlng_to_cell(0.5 * (lat0 + lat1), 0.5 * (lng0 + lng1), res))
    faces = face_centres()
    face = int(np.argmax(faces @ _unit(*h3.cell_to_latlng(h3.int_to_str(anchor)))))
    lattice = face_lattice(face, res)
    local = _local_transform(lattice, anchor) if lattice is not None else None
    if local is None:
        return None
    frame, origin, basis, corners = lattice.frame, lattice.origin, lattice.basis, lattice.corners
    size = lattice.size
    walls = _walls(face, frame)
    outline = _box_outline(lattice, walls, (lng0, lat0, lng1, lat1))
    if outline is None:
        return None
    # lattice points of the box: its outline's j range on each row i, two steps of margin
    i0, j0, j1 = _row_ranges(outline, 2)
    slot = np.full((3, 3), -1, np.int64)  # vertex classes (I % 3, J % 3) -> 0, 1, ...
    for r in np.unique(corners % 3, axis=0):
        slot[r[0], r[1]] = slot.max() + 1
    ii, jj, plng, plat, verts, inside = _lattice_hexagons(
        frame, origin, basis, i0, j0, j1, np.array([lng0, lat0, lng1, lat1]), corners, slot, walls
    )
    if not inside:
        return None
    a_ij, m, a_face = local
    cells = (
        _cells_at(anchor, a_ij + (np.stack([ii, jj], -1) - a_face) @ m.T)
        if len(ii)
        else np.empty(0, np.uint64)
    )
    if cells is None:
        return None
    # check every centre against H3's, and five cells' vertices
    lng, lat = _centres(cells)
    tol = TOLERANCE * np.degrees(size)
    if len(cells) and max(np.abs(lng - plng).max(), np.abs(lat - plat).max()) > tol:
        return None
    for q in np.unique(np.linspace(0, len(cells) - 1, 5).astype(int)) if len(cells) else ():
        b = np.array(h3.cell_to_boundary(h3.int_to_str(int(cells[q]))))[:, ::-1]
        if len(b) != 6 or np.abs(b - verts[q]).max() > tol:
            return None
    return cells, verts
