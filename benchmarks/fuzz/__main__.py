"""``python -m benchmarks.fuzz``: see :mod:`benchmarks.fuzz.run`."""

import sys

from benchmarks.fuzz.run import main

sys.exit(main())
