"""Modelled evidence: per-rule classifiers learnt from observed villages, validated by
leaving whole provinces out, giving a probability where no evidence level decided.

A package of its own (not :mod:`despro.rules`): rules are deterministic thresholds on
values, this learns from data and only ever adds probabilities next to them; it does
no I/O (the pipeline hands it values and the rule table, :mod:`despro.io` writes its
tables).
"""

from despro.model.evidence import MODEL_LEVEL, ModelEvidence, model_evidence, p_ready, p_ready_codes

__all__ = ["MODEL_LEVEL", "ModelEvidence", "model_evidence", "p_ready", "p_ready_codes"]
