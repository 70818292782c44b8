"""The products layer's cover is the village being listed, not its flagship's name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from despro.config.settings import load_config
from despro.pipeline.runner import run

pytestmark = pytest.mark.filterwarnings("ignore:Several features with id:RuntimeWarning")


def test_blank_flagship_name_leaves_the_villages_enterprises_known(sample_copy):
    path = sample_copy / "products.csv"
    df = pd.read_csv(path, dtype=str)
    flagship = df["flagship"].str.lower() == "true"
    code = df.loc[flagship, "village_code"].iloc[0]
    df.loc[flagship & (df["village_code"] == code), "product"] = ""
    df.to_csv(path, index=False)
    r = run(load_config(sample_copy / "despro.toml"))
    v = r.villages.loc[code]
    assert v["products__cover"] == 1  # the table lists the village
    assert v["product_enterprises_n_classes"] >= 1  # its counts are known, not unknown
    assert pd.isna(v["flagship_product"])  # the name itself stays unknown
    unlisted = ~r.villages.index.isin(df["village_code"])
    assert unlisted.any() and (r.villages.loc[unlisted, "products__cover"] == 0).all()
    assert np.isnan(r.villages.loc[unlisted, "product_enterprises_n_classes"]).all()
