"""The I1b model for real: Podes 2019 Jambi and Podes 2021 Sumatera Selatan, each held out."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from despro.config.settings import config_from_dict
from despro.config.vocab import READY, UNKNOWN
from despro.pipeline.runner import run
from tests.conftest import REPO


@pytest.mark.shared_data
def test_jambi_and_sumatera_selatan_leave_one_province_out(shared_data):
    data = tomllib.loads((REPO / "examples/indonesia.toml").read_text())
    data["villages"]["code_prefix"] = "1"  # Sumatra
    census = data["layers"]["census"]
    census["sources"] = [
        s for s in census["sources"] if "jambi" in s["table"] or "sumsel" in s["table"]
    ]
    data["layers"] = {k: data["layers"][k] for k in ("census", "broadband", "backbone")}
    data["model"] = {"enabled": True}
    r = run(config_from_dict(data, base_dir=REPO / "examples"), verbose=False)
    v = r.villages.set_index("village_code")
    val = r.model.validation
    whole = val[(val["rule"] == "I1b") & (val["decile"] == 0)].set_index("province")
    print(whole[["n", "n_train", "observed_share", "mean_prob", "roc_auc", "brier"]])
    assert sorted(whole.index) == ["15", "16", "all"]
    # each province is scored by a model trained on the other one only
    observed = v["census_signal_4g"].notna()
    n = observed.groupby(v.index.str[:2]).sum()
    assert whole.loc["15", "n"] == n["15"] and whole.loc["15", "n_train"] == n["16"]
    assert whole.loc["16", "n"] == n["16"] and whole.loc["16", "n_train"] == n["15"]
    assert whole[["roc_auc", "brier"]].notna().all().all()
    assert ((whole["roc_auc"] >= 0) & (whole["roc_auc"] <= 1)).all()
    # I3 has positives only (a courier agent's absence decides nothing): not modelled
    assert "I3_model_prob" not in v and any(n.startswith("I3: not modelled") for n in r.model.notes)
    # modelled evidence only where the rule is unknown, and it never makes a village ready
    modelled = v["I1b_prob_evidence"] == "model"
    assert modelled.any() and (v.loc[modelled, "I1b_state"] == UNKNOWN).all()
    assert (v.loc[modelled, "tier"] != READY).all()
    assert np.allclose(v.loc[modelled, "I1b_prob"], v.loc[modelled, "I1b_model_prob"])
