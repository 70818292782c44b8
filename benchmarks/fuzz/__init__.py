"""The fuzz harness: malformed variants of the sample's inputs through ``despro validate``."""
