"""Choosing pilots: the MILP, agent placement, clusters, sensitivity, imputation and the
readiness model. Returns frames; :mod:`despro.io` writes them.
"""
