"""Parameter schemas: what a layer kind accepts, with defaults, ranges and one-line help.

One `Param` describes one argument of a kind. `validate` turns a value from a user, a file or a
form into the normalised value the builder uses, or raises `ValueError` with a sentence that says
what was expected and what was given. The GUI inspector reads the same fields to draw its form.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

TYPES = ("int", "float", "bool", "choice", "size2", "shape", "text", "device")
MAX_RANK = 4  # per-sample shapes have at most this many dimensions


@dataclass(frozen=True)
class Param:
    name: str
    type: str                      # one of TYPES
    default: Any
    help: str
    min: float | None = None       # inclusive lower bound (int, float, size2, shape entries)
    max: float | None = None       # inclusive upper bound
    choices: tuple[str, ...] = ()  # for "choice"
    nullable: bool = False         # None allowed (e.g. a pooling stride that defaults to the kernel)
    null_help: str = ""            # what None means, for the inspector
    above: bool = False            # `min` itself is excluded (a learning rate is above 0)
    label: str = ""                # the name shown in forms ("" = from `name`)

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"unknown parameter type {self.type!r}")

    def validate(self, value: Any) -> Any:
        """Return the normalised value, or raise ValueError explaining what is wrong."""
        if value is None:
            if self.nullable:
                return None
            raise ValueError(f"{self.name} needs a value ({self.expected()})")
        return _VALIDATORS[self.type](self, value)

    def expected(self) -> str:
        """A short phrase describing the accepted values, for messages and tooltips."""
        return _EXPECTED[self.type](self)

    def to_json(self, value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value

    def describe(self) -> dict:
        """The schema entry as plain data (for `info --json`, docs and the GUI)."""
        return {"name": self.name, "type": self.type, "default": self.to_json(self.default),
                "help": self.help, "min": self.min, "max": self.max, "above": self.above,
                "choices": list(self.choices), "nullable": self.nullable,
                "null_help": self.null_help}

    @property
    def title(self) -> str:
        """The name shown in forms and tables."""
        return self.label or self.name.replace("_", " ")


def _got(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _range_phrase(p: Param, noun: str) -> str:
    if p.above and p.min is not None:
        upper = f" and at most {_num(p.max)}" if p.max is not None else ""
        return f"{noun} above {_num(p.min)}{upper}"
    if p.min is not None and p.max is not None:
        return f"{noun} from {_num(p.min)} to {_num(p.max)}"
    if p.min is not None:
        return f"{noun} of at least {_num(p.min)}"
    if p.max is not None:
        return f"{noun} of at most {_num(p.max)}"
    return noun


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def _check_range(p: Param, x: float, what: str) -> None:
    low = p.min is not None and (x <= p.min if p.above else x < p.min)
    if low or (p.max is not None and x > p.max):
        raise ValueError(f"{p.name} must be {what}; got {_got(x)}")


def _as_int(p: Param, value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{p.name} must be {what}; got {_got(value)}")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{p.name} must be {what}; got {_got(value)}")
        value = int(value)
    _check_range(p, value, what)
    return value


def _v_int(p: Param, value: Any) -> int:
    return _as_int(p, value, p.expected())


def _v_float(p: Param, value: Any) -> float:
    what = p.expected()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{p.name} must be {what}; got {_got(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{p.name} must be {what}; got {_got(value)}")
    _check_range(p, value, what)
    return value


def _v_bool(p: Param, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{p.name} must be true or false; got {_got(value)}")
    return value


def _v_choice(p: Param, value: Any) -> str:
    if value not in p.choices:
        raise ValueError(f"{p.name} must be {p.expected()}; got {_got(value)}")
    return value


def _v_size2(p: Param, value: Any) -> int | tuple[int, int]:
    what = p.expected()
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"{p.name} must be {what}; got {_got(value)}")
        return tuple(_as_int(p, v, what) for v in value)
    return _as_int(p, value, what)


def _v_shape(p: Param, value: Any) -> tuple[int, ...]:
    what = p.expected()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= MAX_RANK:
        raise ValueError(f"{p.name} must be {what}; got {_got(value)}")
    return tuple(_as_int(p, v, what) for v in value)


def _v_text(p: Param, value: Any) -> str:
    limit = int(p.max) if p.max is not None else 4096
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(f"{p.name} must be {p.expected()}; got {_got(value)}")
    return value


DEVICES = ("auto", "cpu", "cuda", "mps")


def _v_device(p: Param, value: Any) -> str:
    ok = isinstance(value, str) and (value in DEVICES or (
        value.startswith("cuda:") and value[5:].isdigit() and len(value) < 12))
    if not ok:
        raise ValueError(f"{p.name} must be {p.expected()}; got {_got(value)}")
    return value


_VALIDATORS = {"int": _v_int, "float": _v_float, "bool": _v_bool, "choice": _v_choice,
               "size2": _v_size2, "shape": _v_shape, "text": _v_text, "device": _v_device}

_EXPECTED = {
    "int": lambda p: _range_phrase(p, "a whole number"),
    "float": lambda p: _range_phrase(p, "a number"),
    "bool": lambda p: "true or false",
    "choice": lambda p: "one of " + ", ".join(repr(c) for c in p.choices),
    "size2": lambda p: _range_phrase(p, "a whole number") + ", or a pair of them (height, width)",
    "shape": lambda p: "a list of 1 to 4 whole numbers of at least 1, e.g. [1, 28, 28] or [784]",
    "text": lambda p: "a text",
    "device": lambda p: "auto, cpu, cuda, cuda:N or mps",
}

def size2(value: int | tuple[int, int]) -> tuple[int, int]:
    """Expand an int-or-pair parameter to a pair."""
    return (value, value) if isinstance(value, int) else tuple(value)

