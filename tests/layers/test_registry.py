"""The registry names every input a rule may need: each layer's TITLE and PROVIDES."""

from __future__ import annotations

from despro import layers as registry
from despro.config.settings import default_rules


def test_every_layer_has_a_title_in_both_languages():
    for layer in registry.all_layers():
        assert set(layer.TITLE) == {"id", "en"}, layer.NAME
        assert all(t.strip() for t in layer.TITLE.values()), layer.NAME


def test_every_table1_rule_variable_has_one_providing_layer():
    providers = registry.providers()
    owners: dict[str, list[str]] = {}
    for layer in registry.all_layers():
        for var in layer.PROVIDES:
            owners.setdefault(var, []).append(layer.NAME)
    assert all(len(v) == 1 for v in owners.values()), owners
    missing = [r.id for r in default_rules() if r.variable not in providers]
    assert missing == []
    # the unconfigured courier layer is still named in Indonesian
    assert registry.titles("id")[providers["courier_companies"]] == "kurir"
