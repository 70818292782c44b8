"""Rasters onto cells, exactly: each pixel's area shared among the hexagons it overlaps, block
by block.
"""
