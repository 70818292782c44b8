"""Operating despro on a schedule: rescoring when inputs change, the run history and run-to-run
differences.
"""
