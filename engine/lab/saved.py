"""Reading saved Lab results back (results.json, as write_report writes it), for the window to
show reports run earlier, e.g. by `lab all`. Files may come from anyone: the size is bounded,
every field is type-checked, and a bad file raises a LayerwiseError naming the file and what
is wrong; nothing in it is executed or trusted beyond being shown."""
from __future__ import annotations

import json
import math
from pathlib import Path

from engine.errors import LayerwiseError
from engine.lab.common import Figure, LabResult
from engine.lab.verdict import VERDICTS, Check, Verdict

MAX_BYTES = 32 << 20


def read_result(path) -> LabResult:
    """The LabResult saved in `path` (a results.json)."""
    path = Path(path)
    try:
        if not path.is_file():
            raise LayerwiseError(f"'{path}' is not a file")
        if path.stat().st_size > MAX_BYTES:
            raise LayerwiseError(f"'{path}' is larger than {MAX_BYTES >> 20} MiB: not a Lab "
                                 f"result")
        data = json.loads(path.read_text(encoding="utf-8"))
        return _result(data)
    except LayerwiseError as exc:
        raise LayerwiseError(f"Cannot read the Lab result '{path}': {exc}") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError, TypeError, KeyError) as exc:
        raise LayerwiseError(f"Cannot read the Lab result '{path}': "
                             f"{type(exc).__name__}: {str(exc)[:200]}") from None


def read_folder(folder, names) -> dict[str, LabResult]:
    """The results saved in `folder` for the experiments `names`: FOLDER/NAME/results.json
    (as `lab all` writes), or FOLDER/results.json (one experiment's report folder)."""
    folder = Path(folder)
    found = {}
    for path in [folder / "results.json", *(folder / n / "results.json" for n in names)]:
        if path.is_file():
            result = read_result(path)
            if result.name in names:
                found[result.name] = result
    if not found:
        raise LayerwiseError(f"There is no Lab result in '{folder}': choose a folder that "
                             f"holds results.json, or one folder per experiment as 'lab all' "
                             f"writes.")
    return found


def _need(data: dict, key: str, kind, what: str = ""):
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise LayerwiseError(f"{what or key} is missing or not a {getattr(kind, '__name__', kind)}")
    return value


def _texts(data: dict, key: str) -> list[str]:
    values = _need(data, key, list)
    if not all(isinstance(v, str) for v in values):
        raise LayerwiseError(f"{key} must be a list of texts")
    return values


def _result(data) -> LabResult:
    if not isinstance(data, dict):
        raise LayerwiseError("the file does not hold an object")
    rows = _need(data, "rows", list)
    if not all(isinstance(r, list) for r in rows):
        raise LayerwiseError("rows must be a list of rows")
    seconds = _need(data, "seconds", (int, float))
    if not math.isfinite(seconds) or seconds < 0:
        raise LayerwiseError("seconds must be a time")
    return LabResult(
        _need(data, "name", str), _need(data, "title", str), _need(data, "claim", str),
        _need(data, "mirrors", str), _texts(data, "setup"), _texts(data, "columns"), rows,
        _texts(data, "look_for"), _texts(data, "findings"),
        [_figure(f) for f in _need(data, "figures", list)],
        _verdict(_need(data, "verdict", dict)), {},
        quick=_need(data, "quick", bool), seed=_need(data, "seed", int), seconds=seconds,
        stopped=_need(data, "stopped", bool))


def _verdict(data: dict) -> Verdict:
    status = _need(data, "status", str, "the verdict's status")
    if status not in VERDICTS:
        raise LayerwiseError(f"the verdict {status[:40]!r} is none of {', '.join(VERDICTS)}")
    checks = []
    for c in _need(data, "checks", list, "the verdict's checks"):
        checks.append(Check(_need(c, "predicts", str), _need(c, "passed", bool),
                            _need(c, "figure", str), _need(c, "rule", str),
                            _need(c, "numbers", dict)))
    return Verdict(status, checks, _need(data, "rule", str, "the verdict's rule"))


def _figure(data) -> Figure:
    fig = Figure(_need(data, "name", str, "a figure's name"), _need(data, "title", str),
                 _need(data, "x_label", str), _need(data, "y_label", str),
                 log_y=_need(data, "log_y", bool), log_x=_need(data, "log_x", bool),
                 markers=_need(data, "markers", bool))
    for curve in _need(data, "curves", list, "a figure's curves"):
        xs, ys = _need(curve, "x", list), _need(curve, "y", list)
        if len(xs) != len(ys) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                         for v in xs) or \
                not all(v is None or isinstance(v, (int, float)) and not isinstance(v, bool)
                        for v in ys):
            raise LayerwiseError(f"the curve of figure {fig.name[:40]!r} must have as many "
                                 f"numbers in x as in y")
        fig.add(_need(curve, "label", str), xs, ys, reference=curve.get("reference") is True)
    return fig
