"""Moving additive columns between levels: cells <-> villages through the overlap weights,
villages -> regencies / provinces, cells -> parent cells.
"""
