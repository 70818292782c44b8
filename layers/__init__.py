"""despro layers: one module per input layer, each declaring its variables."""
