"""The Despro criteria (Table 1): rule evaluation with evidence precedence, criterion states,
tiers, scores and in-memory re-evaluation.
"""
