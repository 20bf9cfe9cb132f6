"""Parameter schemas: what a layer kind accepts, with defaults, ranges and one-line help.

One `Param` describes one argument of a kind. `validate` turns a value from a user, a file or a
form into the normalised value the builder uses, or raises `ValueError` with a sentence that says
what was expected and what was given. The GUI inspector reads the same fields to draw its form.
"""
from __future__ import annotations

import math
import reprlib
from dataclasses import dataclass, replace
from typing import Any

TYPES = ("int", "float", "bool", "choice", "size2", "shape", "text", "device")
MAX_RANK = 4  # per-sample shapes have at most this many dimensions
# A number beyond this is refused even where a Param gives no bound of its own (a padding, a
# kernel, an Input's side, an ELU's alpha): no network that fits a computer needs one, and the
# arithmetic of shapes and sizes stays within what a float can show.
NUMBER_LIMIT = 10**9
SHOWN = 80          # at most this many characters of a refused value are quoted in a message


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


def shown(value: Any, limit: int = SHOWN) -> str:
    """`value` as a short Python literal for a message: long text, deep or long lists and huge
    numbers are cut (never more than `limit` characters, whatever was given)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        if value.bit_length() >= 10_000:        # str() would refuse it (4,300 digits at most)
            return "a number of thousands of digits"
        text = str(value)
        return text if len(text) <= limit else f"a {len(str(abs(value)))}-digit number"
    try:
        text = _REPR.repr(value)
    except (ValueError, RecursionError):
        text = f"a {type(value).__name__}"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _repr() -> reprlib.Repr:
    r = reprlib.Repr()
    r.maxlevel, r.maxstring, r.maxother, r.maxlong = 3, SHOWN, SHOWN, SHOWN
    r.maxlist = r.maxtuple = r.maxdict = r.maxset = 6
    return r


_REPR = _repr()


def _got(value: Any) -> str:
    return shown(value, 40)


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


def _refused(p: Param, value: Any, bounded: bool = False) -> ValueError:
    """The error for `value`, naming what `p` takes (with NUMBER_LIMIT where it is open)."""
    what = (_bounded(p) if bounded else p).expected()
    return ValueError(f"{p.name} must be {what}; got {_got(value)}")


def _bounded(p: Param) -> Param:
    """`p` with NUMBER_LIMIT for the bounds it leaves open (for a message naming its range)."""
    return replace(p, min=-NUMBER_LIMIT if p.min is None else p.min,
                   max=NUMBER_LIMIT if p.max is None else p.max)


def _check_range(p: Param, x: float) -> None:
    low = p.min is not None and (x <= p.min if p.above else x < p.min)
    if low or (p.max is not None and x > p.max):
        raise _refused(p, x)
    if (p.min is None and x < -NUMBER_LIMIT) or (p.max is None and x > NUMBER_LIMIT):
        raise _refused(p, x, bounded=True)      # NUMBER_LIMIT bounds only what p leaves open


def _as_int(p: Param, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _refused(p, value)
    if isinstance(value, float):
        if not value.is_integer():
            raise _refused(p, value)
        value = int(value)
    _check_range(p, value)
    return value


def _v_int(p: Param, value: Any) -> int:
    return _as_int(p, value)


def _v_float(p: Param, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _refused(p, value)
    try:
        number = float(value)
    except OverflowError:       # an int beyond any float
        raise _refused(p, value, bounded=True) from None
    if not math.isfinite(number):
        raise _refused(p, number)
    _check_range(p, number)
    return number


def _v_bool(p: Param, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{p.name} must be true or false; got {_got(value)}")
    return value


def _v_choice(p: Param, value: Any) -> str:
    if value not in p.choices:
        raise _refused(p, value)
    return value


def _v_size2(p: Param, value: Any) -> int | tuple[int, int]:
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise _refused(p, value)
        return tuple(_as_int(p, v) for v in value)
    return _as_int(p, value)


def _v_shape(p: Param, value: Any) -> tuple[int, ...]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= MAX_RANK:
        raise _refused(p, value)
    return tuple(_as_int(p, v) for v in value)


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
    "shape": lambda p: "a list of 1 to 4 whole numbers " + (
        "of at least 1" if p.max is None else f"from 1 to {_num(p.max)}")
        + ", e.g. [1, 28, 28] or [784]",
    "text": lambda p: "a text",
    "device": lambda p: "auto, cpu, cuda, cuda:N or mps",
}

def size2(value: int | tuple[int, int]) -> tuple[int, int]:
    """Expand an int-or-pair parameter to a pair."""
    return (value, value) if isinstance(value, int) else tuple(value)

