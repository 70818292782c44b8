"""The synthetic sample (``data/sample``) generator and the demo config."""
