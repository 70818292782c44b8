"""despro engine: grid, aggregation, criteria, pipeline, outputs and CLI."""
__version__ = "0.1.0"
