"""The run, wired: config -> layers -> cells -> villages -> criteria -> scores; engines (local,
dask) and the step cache.
"""
