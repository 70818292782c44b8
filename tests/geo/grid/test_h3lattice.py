"""Hexagons from an icosahedron face's lattice against H3's own cells and vertices."""

import h3
import numpy as np
import pyarrow as pa
import pytest
import shapely
from h3ronpy.vector import ContainmentMode, wkb_to_cells
from hypothesis import given, settings
from hypothesis import strategies as st

from despro.grid import cells as grid
from despro.grid import lattice as hl


def _h3_box_cells(box, res):
    lists = wkb_to_cells(
        pa.array([shapely.to_wkb(shapely.box(*box))], type=pa.binary()),
        res,
        containment_mode=ContainmentMode.ContainsCentroid,
    )
    return np.asarray(pa.array(lists).flatten().to_numpy(zero_copy_only=False)).astype(np.uint64)


@settings(max_examples=40, deadline=None)
@given(
    st.floats(94.0, 141.0),
    st.floats(-11.0, 6.0),
    st.floats(0.01, 0.6),
    st.floats(0.01, 0.6),
    st.sampled_from([5, 6, 7, 8, 9, 10]),
)
def test_box_hexagons_are_h3s_cells(lng, lat, dlng, dlat, res):
    """Anywhere over Indonesia: the same cells as H3's polygon fill, the same vertices in
    the same order; or None (the box's cells leave one face), never a wrong answer."""
    box = (lng, lat, lng + dlng, lat + dlat)
    got = hl.box_hexagons(*box, res)
    if got is None:
        return
    cells, verts = got
    ref = _h3_box_cells(box, res)
    assert len(cells) == len(np.unique(cells))
    assert set(cells.tolist()) == set(ref.tolist())
    if not len(cells):
        return
    xy, counts = grid.cell_vertices(cells)
    assert (counts == 6).all()
    assert np.abs(xy - verts).max() < 1e-9 * 2.0 ** -((res - 8) / 2)  # degrees (~0.1 mm)


def test_shared_vertices_have_the_same_bits():
    """A vertex shared by three hexagons is the same float pair in each of them (the
    tessellation has no slivers), and the distinct pairs are H3's distinct vertices."""
    cells, verts = hl.box_hexagons(110.30, -7.80, 110.42, -7.70, 8)
    pairs = np.unique(verts.reshape(-1, 2), axis=0)
    h3_vertices = {v for c in cells for v in h3.cell_to_vertexes(h3.int_to_str(int(c)))}
    assert len(pairs) == len(h3_vertices)


def _face_edge_point():
    """A point on an edge between two icosahedron faces, near Indonesia."""
    faces = hl.face_centres()
    lng = np.linspace(90.0, 145.0, 20001)
    xyz = hl._unit(np.full_like(lng, -2.0), lng)
    nearest = np.argmax(xyz @ faces.T, axis=1)
    k = int(np.flatnonzero(np.diff(nearest))[0])
    return float(lng[k]), -2.0


@pytest.mark.parametrize("res", [7, 8, 9])
def test_face_edges_and_pentagons_are_left_to_h3(res):
    lng, lat = _face_edge_point()
    assert hl.box_hexagons(lng - 0.1, lat - 0.1, lng + 0.1, lat + 0.1, res) is None
    # the same size box wholly inside a face is drawn from the lattice
    assert hl.box_hexagons(lng - 2.1, lat - 0.1, lng - 1.9, lat + 0.1, res) is not None
    plat, plng = h3.cell_to_latlng(h3.get_pentagons(res)[0])
    assert hl.box_hexagons(plng - 0.05, plat - 0.05, plng + 0.05, plat + 0.05, res) is None


def test_face_centres_are_the_icosahedron_faces():
    c = hl.face_centres()
    assert c.shape == (20, 3) and np.allclose(np.linalg.norm(c, axis=1), 1)
    # every face has three neighbours at the icosahedron's dihedral spacing (41.8 degrees)
    ang = np.degrees(np.arccos(np.clip(c @ c.T, -1, 1)))
    assert ((np.abs(ang - 41.81) < 0.01).sum(axis=1) == 3).all()


def _same_as_h3_or_none(box, res):
    got = hl.box_hexagons(*box, res)
    if got is not None:
        assert set(got[0].tolist()) == set(_h3_box_cells(box, res).tolist())


@pytest.mark.parametrize(
    "box, res",
    [
        # thin or small boxes poking over a face edge: a centre of the next face's cells in
        # the box, but no lattice point of the anchor's face there
        ((40.393123614507715, 44.925968254358445, 40.42520185826854, 44.92859285543306), 8),
        ((50.90556295925339, 27.617295484919875, 50.90610019869739, 27.617689170249943), 11),
        ((-38.41336967245105, -28.576026611869892, -38.39044902432716, -28.54641013788428), 10),
    ],
)
def test_boxes_crossing_a_face_edge_miss_no_cell(box, res):
    _same_as_h3_or_none(box, res)


@pytest.mark.parametrize("box", [(-85.0, 88.0, 85.0, 88.005), (-85.0, -88.005, 85.0, -88.0)])
def test_curved_parallels_of_wide_polar_boxes_miss_no_cell(box):
    """Near a pole a parallel bends away from the chords of the box's sampled outline by
    many lattice steps."""
    _same_as_h3_or_none(box, 10)


def test_boxes_wider_than_a_face_are_left_to_h3():
    assert hl.box_hexagons(3.27, -47.66, 116.61, 51.2, 2) is None
