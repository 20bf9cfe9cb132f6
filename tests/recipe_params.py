"""The recipe's numeric settings with a bound, and a value beyond it (engine and window tests)."""
from __future__ import annotations

import engine


def out_of_range(param: engine.Param):
    """A value of the Param's type outside its range (None when it has no bound)."""
    if param.max is not None:
        value = param.max * 10 + 1
    elif param.min is not None:
        value = param.min - 1
    else:
        return None
    return int(value) if param.type == "int" else float(value)


NUMERIC = [(part, p) for part, params in engine.Recipe.params().items() for p in params
           if p.type in ("int", "float") and out_of_range(p) is not None]
