"""The integer-programming plumbing shared by pilot selection and agent placement.

PuLP models solved by the CBC binary bundled with PuLP 3 (``PULP_CBC_CMD``): no
solver to install. PuLP 3.3 announces that 4.0 will drop the bundled binary
(``pip install pulp[cbc]`` and ``COIN_CMD`` then); ``pyproject.toml`` pins
``pulp<4`` and the announcement is silenced here, in one place.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from despro.errors import DesproError

if TYPE_CHECKING:
    import pulp


def solve(prob: pulp.LpProblem) -> str:
    """Solve a PuLP problem with the bundled CBC (quiet); return PuLP's status name."""
    import pulp

    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="PULP_CBC_CMD is deprecated", category=DeprecationWarning
        )
        cmd = pulp.PULP_CBC_CMD(msg=False)
        if not cmd.available():
            raise DesproError(
                "PuLP's bundled CBC solver is not available on this machine; "
                "install pulp 3.x (pip install 'pulp>=3.3,<4')"
            )
        return pulp.LpStatus[prob.solve(cmd)]


def variable(
    prob: pulp.LpProblem, name: str, binary: bool = True, low: float = 0, up: float = 1
) -> pulp.LpVariable:
    """A new variable of ``prob``: binary by default, else continuous in [low, up]."""
    return prob.add_variable(name, low, up, cat="Binary" if binary else "Continuous")
