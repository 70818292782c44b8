"""Costed interventions and the budgeted rollout plan (issue 21): pure engine code, no I/O.

``problem`` builds the villages that interventions can make ready and the candidate
items (4G sites with their fibre spurs, courier outlets, programmes) from a run's
result; ``solve`` chooses items under a budget with a MILP (PuLP / CBC) and explains
the choice; ``effects`` applies a plan to the village values and re-evaluates the
rules; ``waves`` lays the plan out in waves and draws the cost curve. Writing the
tables is :mod:`despro.io.rollout`'s job; ``despro.plan(result, budget=...)``
(:mod:`despro.rollout.api`) is the entry point.
"""
