"""The H3 grid: cell ids and geometry, the face lattice, cell tables, extents, partitions,
geodesic distances.
"""
