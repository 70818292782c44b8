"""Sources onto cells: the village <-> cell overlap, point / line / polygon / raster kernels,
nearest distances. Pure: arrays and frames in, additive cell columns out.
"""
