"""Safe reading of .lwnet members: names, sizes, JSON, versions — every problem collected."""
from __future__ import annotations

import json
import math
import unicodedata
import zipfile
import zlib
from pathlib import Path
from typing import Any, Callable

from engine.io.structure import HISTORY, INLINE_SERIES, MANIFEST, validate

FORMAT_NAME = "layerwise-network"
FORMAT_VERSION = 2      # 2: the history's step and probe series moved to history.safetensors

MiB = 1024 * 1024
# Largest size accepted for each member, checked before and while decompressing (zip bombs).
MEMBER_LIMITS = {
    "manifest.json": 1 * MiB,
    "network.json": 32 * MiB,
    "training.json": 8 * MiB,
    "history.json": 256 * MiB,
    "history.safetensors": 512 * MiB,
    "weights.safetensors": 4096 * MiB,
    "optimizer.json": 64 * MiB,
    "optimizer.safetensors": 8192 * MiB,
    "runs.json": 256 * MiB,
}
MAX_MEMBERS = 16
BARE_JSON_LIMIT = 32 * MiB
# Layerwise writes members stored or deflated; deflate is read in bounded steps. Others (bzip2,
# lzma) decompress a whole block in one call, so their size cannot be capped while reading.
METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
CHUNK = 1 * MiB

SERIES_MEMBER = "history.safetensors"     # engine.io.series
INLINE = "history.json series"            # a version-1 history's steps and probes, set apart


def _series_apart(parsed: dict[str, Any]) -> dict[str, Any]:
    """1 -> 2: the history's steps and probes, which version 1 kept in history.json, are set
    apart under INLINE (for parse_history to check and make columns of, as version 2 reads
    them from history.safetensors)."""
    history = parsed.get("history.json")
    if isinstance(history, dict):
        parsed = {**parsed, "history.json": dict(history),
                  INLINE: {k: history[k] for k in ("steps", "probes") if k in history}}
        for key in ("steps", "probes"):
            parsed["history.json"].pop(key, None)
    return parsed


# Upgrades of the parsed members from format version v to v + 1, applied in order on load.
# Each takes and returns {member name: parsed JSON}. Version 1 is the first format.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _series_apart}

PICKLE_SUFFIXES = (".pkl", ".pickle", ".pt", ".pth", ".bin", ".ckpt")
PICKLE_REFUSAL = ("is a Python pickle; Layerwise never opens pickles because they can run "
                  "arbitrary code")


def dumps(obj: Any) -> bytes:
    """JSON bytes; non-finite floats (a diverged loss) are stored as null, never as NaN."""
    return json.dumps(jsonable(obj), indent=1, allow_nan=False).encode("utf-8")


def jsonable(obj: Any) -> Any:
    """`obj` as plain JSON data: non-finite floats become None, numpy/torch scalars numbers,
    arrays and history columns (engine.run.history) lists."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if callable(getattr(obj, "tolist", None)):   # history columns, numpy and torch values
        return jsonable(obj.tolist())
    if hasattr(obj, "item") and callable(obj.item):   # other scalars
        return jsonable(obj.item())
    return obj


def _looks_pickled(data: bytes) -> bool:
    return data[:1] == b"\x80" and len(data) > 1 and data[1] <= 5


# ----------------------------------------------------------------------------- members

SIZED_BY_NETWORK = ("weights.safetensors", "optimizer.safetensors")   # read last, see caps

Caps = Callable[[dict[str, bytes]], dict[str, int]]


def read_members(path: Path, problems: list[str],
                 caps: Caps | None = None) -> dict[str, bytes] | None:
    """The file's members as bytes (a bare JSON file becomes {'network.json': ...}).
    `caps(members read so far)`: the most bytes each of SIZED_BY_NETWORK may hold (what the
    network in network.json can need), asked before they are read, after every other member:
    a small file then cannot make its loading inflate gigabytes it never needed."""
    problem = file_problem(path)
    if problem:
        problems.append(problem)
        return None
    try:
        with open(path, "rb") as fh:
            head = fh.read(256)
    except OSError as exc:
        problems.append(f"it cannot be read ({exc.strerror or exc})")
        return None
    if not head:
        problems.append("the file is empty")
        return None
    if head.startswith(b"PK"):
        return _read_zip(path, problems, caps)
    if _looks_pickled(head):
        problems.append(f"the file {PICKLE_REFUSAL}")
        return None
    if head.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"{":
        return _read_bare_json(path, problems)
    problems.append("it is not a Layerwise network: expected a .lwnet file (a zip) or a "
                    "network.json")
    return None


def file_problem(path: Path) -> str | None:
    """Why `path` is no file to read, or None: missing, a folder, a pipe or a device, or out
    of reach (a folder on its way the user may not enter, a name too long, a NUL in it)."""
    if "\0" in str(path):
        return "its name holds a NUL character, which no file name may hold"
    try:
        if not path.exists():
            return "the file does not exist"
        if path.is_dir():
            return "it is a folder, not a file"
        if not path.is_file():
            return ("it is not a regular file (a pipe, a device or a socket); refused without "
                    "reading it")
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})"
    return None


def _read_bare_json(path: Path, problems: list[str]) -> dict[str, bytes] | None:
    if path.stat().st_size > BARE_JSON_LIMIT:
        problems.append(f"the file is {path.stat().st_size // MiB} MiB; a network.json may be "
                        f"at most {BARE_JSON_LIMIT // MiB} MiB")
        return None
    return {"network.json": path.read_bytes()}


def _read_zip(path: Path, problems: list[str], caps: Caps | None) -> dict[str, bytes] | None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                problems.append(f"it has {len(infos)} members; a .lwnet file has at most "
                                f"{MAX_MEMBERS}")
                return None
            names = [i.filename for i in infos]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                problems.append(f"member {twice[0]!r} appears more than once (zip tools would "
                                f"disagree on which one is the file); refused")
                return None
            members: dict[str, bytes] = {}
            limits: dict[str, int] | None = None
            for info in sorted(infos, key=lambda i: i.filename in SIZED_BY_NETWORK):
                if info.filename in SIZED_BY_NETWORK and limits is None:
                    limits = caps(members) if caps is not None else {}
                data = _read_member(zf, info, problems, (limits or {}).get(info.filename))
                if data is not None:
                    members[info.filename] = data
            return members
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, ValueError,
            zlib.error) as exc:
        problems.append(f"the file is damaged or truncated (not a complete zip archive: "
                        f"{str(exc)[:200]})")
        return None


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, problems: list[str],
                 cap: int | None = None):
    name = info.filename
    if info.orig_filename != name or any(unicodedata.category(c)[0] == "C" for c in name):
        problems.append(f"member {info.orig_filename[:80]!r} has a control character in its "
                        f"name (zip tools read such names differently); refused")
        return None
    if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") \
            or "\\" in name or ":" in name:
        problems.append(f"member {name!r} has an unsafe path (absolute or with '..'); refused")
        return None
    if name.lower().endswith(PICKLE_SUFFIXES):
        problems.append(f"member {name!r} {PICKLE_REFUSAL}")
        return None
    if name not in MEMBER_LIMITS:
        problems.append(f"unexpected member {name!r}; a .lwnet file holds only "
                        f"{', '.join(MEMBER_LIMITS)}")
        return None
    limit = MEMBER_LIMITS[name]
    too_big = f"member {name!r} is larger than the {_size(limit)} allowed; refused"
    if cap is not None and cap < limit:
        limit = cap
        too_big = (f"member {name!r} is larger than the {_size(cap)} its network can need; "
                   f"refused")
    if info.file_size > limit:
        problems.append(too_big)
        return None
    if info.compress_type not in METHODS:
        problems.append(f"member {name!r} is compressed with method {info.compress_type}; a "
                        f".lwnet member is stored or deflated (others cannot be read with a "
                        f"size cap); refused")
        return None
    try:
        data = _read_capped(zf, info, limit)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, OSError,
            ValueError, zlib.error) as exc:
        problems.append(f"member {name!r} cannot be read ({str(exc)[:200]})")
        return None
    if len(data) > limit:
        problems.append(too_big)
        return None
    if _looks_pickled(data):
        problems.append(f"member {name!r} {PICKLE_REFUSAL}")
        return None
    return data


def _read_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """The member's bytes, read in bounded steps and never more than limit + 1 of them (the
    header may lie about the size)."""
    parts, total = [], 0
    with zf.open(info) as fh:
        while total <= limit:
            part = fh.read(min(CHUNK, limit + 1 - total))
            if not part:
                break
            parts.append(part)
            total += len(part)
    return b"".join(parts)


def _size(n: int) -> str:
    return f"{n // MiB} MiB" if n >= MiB else f"{n} bytes"


# ----------------------------------------------------------------------------- JSON

def parse_json(members: dict[str, bytes], name: str, problems: list[str], required: bool):
    if name not in members:
        if required and not any(f"member {name!r}" in p for p in problems):
            problems.append(f"{name} is missing: the file holds no network")
        return None                 # (a member that could not be read was reported as such)
    try:
        return json.loads(members[name].decode("utf-8-sig"))
    except UnicodeDecodeError:
        problems.append(f"{name} is not UTF-8 text")
    except json.JSONDecodeError as exc:
        problems.append(f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                        f"{exc.msg})")
    except RecursionError:
        problems.append(f"{name} is nested too deeply")
    except ValueError:      # an integer too long to convert (more than 4300 digits)
        problems.append(f"{name} holds a number too long to read")
    return None


def check_version(manifest: Any, network: Any, members: dict,
                  problems: list[str]) -> int | None:
    """The file's format version, or None (with a problem) if it cannot be read here. In a
    .lwnet, network.json's own format fields (when present) must agree with the manifest's."""
    if "manifest.json" in members:
        if not validate(MANIFEST, manifest, "manifest.json", problems):
            return None
        source = manifest
    else:
        if len(members) > 1:
            problems.append("manifest.json is missing")
        source = network if isinstance(network, dict) else {}
    version = _version(source, "the file", problems)
    if version is not None and source is manifest and isinstance(network, dict) \
            and ("format" in network or "format_version" in network):
        inner = _version(network, "network.json", problems)
        if inner is not None and inner != version:
            problems.append(f"network.json says format version {inner} but manifest.json says "
                            f"{version}: the members come from different files; refused")
            return None
        if inner is None:
            return None
    return version


def _version(source: dict, what: str, problems: list[str]) -> int | None:
    fmt = source.get("format", FORMAT_NAME)
    version = source.get("format_version", FORMAT_VERSION)
    if fmt != FORMAT_NAME:
        problems.append(f"{what} is a {_shown(fmt)} file, not a Layerwise network "
                        f"({FORMAT_NAME!r})")
        return None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append(f"{what}'s format version {_shown(version)} is not a positive whole "
                        f"number")
        return None
    if version > FORMAT_VERSION:
        problems.append(f"{what} was written by a newer Layerwise (file format "
                        f"{_shown(version)}; this version reads up to {FORMAT_VERSION}): "
                        f"update Layerwise to open it")
        return None
    return version


def migrate(parsed: dict[str, Any], version: int) -> dict[str, Any]:
    """Apply MIGRATIONS from `version` up to FORMAT_VERSION to the parsed JSON members."""
    while version < FORMAT_VERSION:
        parsed = MIGRATIONS[version](parsed)
        version += 1
    return parsed


def parse_history(history: Any, members: dict[str, bytes], problems: list[str],
                  inline: Any = None) -> dict | None:
    """The history: history.json's value if its structure is valid (engine.io.structure
    .HISTORY), with the step and probe series of history.safetensors as columns (or, from a
    version-1 file, those `inline` in its history.json, checked as that version did)."""
    if history is None:
        if SERIES_MEMBER in members:
            problems.append(f"{SERIES_MEMBER} is in the file without history.json")
        return None
    if not validate(HISTORY, history, "history.json", problems):
        return None
    if inline is not None:
        return _inline_history(history, inline, members, problems)
    if "series" not in history:
        if SERIES_MEMBER in members:
            problems.append(f"{SERIES_MEMBER} is in the file but history.json lists no series")
            return None
        return history
    from engine.io.series import read_series
    series = read_series(history["series"], members, problems)
    if series is None:
        return None
    return {**{k: v for k, v in history.items() if k != "series"}, **series}


def _inline_history(history: dict, inline: Any, members: dict, problems: list[str]):
    if "series" in history or SERIES_MEMBER in members:
        problems.append(f"a format 1 file keeps its series in history.json, not in "
                        f"{SERIES_MEMBER}")
        return None
    if not validate(INLINE_SERIES, inline, "history.json", problems):
        return None
    from engine.run.history import StepRows, compact_probes
    history = dict(history)
    if "steps" in inline:
        history["steps"] = StepRows(inline["steps"])
    if "probes" in inline:
        history["probes"] = compact_probes(inline["probes"]) if inline["probes"] else {}
    return history


# ----------------------------------------------------------------------------- weights

def state_dict_problems(expected: dict, found: dict) -> list[str]:
    """Missing, unexpected and mis-shaped tensors, by name."""
    problems = []
    for key in expected:
        if key not in found:
            problems.append(f"no weights for {key}")
    for key, tensor in found.items():
        if key not in expected:
            problems.append(f"weights for {key}, which the network does not have")
            continue
        want = tuple(expected[key].shape)
        if tuple(tensor.shape) != want:
            problems.append(f"{key} has shape {tuple(tensor.shape)} but the network needs {want}")
        elif tensor.dtype.is_floating_point != expected[key].dtype.is_floating_point:
            problems.append(f"{key} has type {tensor.dtype} but the network needs "
                            f"{expected[key].dtype}")
    return problems



# ----------------------------------------------------------------------------- optimizer state

def optimizer_problems(meta: Any, tensors: dict, parameters: dict) -> list[str]:
    """Problems of a stored optimizer state: optimizer.json must be {"format", "optimizer",
    "params": [parameter names], "scalars": {name: {key: number}}} with, optionally (fp16
    runs), "grad_scaler" (see scaler_problems), and every tensor of optimizer.safetensors is
    named 'parameter/key' after one of the network's `parameters` ({name: shape}), with that
    parameter's shape or no dimensions."""
    if not isinstance(meta, dict):
        return ["optimizer.json must be an object"]
    from engine.run.config import OPTIMIZERS
    problems = [f"optimizer.json: unexpected key {str(key)[:40]!r}" for key in meta
                if key not in OPTIMIZER_KEYS]
    if meta.get("format") != OPTIMIZER_FORMAT:
        problems.append(f"optimizer.json: 'format' must be {OPTIMIZER_FORMAT}, not "
                        f"{_shown(meta.get('format'))}")
    if meta.get("optimizer") not in OPTIMIZERS:
        problems.append(f"optimizer.json: 'optimizer' must be one of {', '.join(OPTIMIZERS)}, "
                        f"not {_shown(meta.get('optimizer'))}")
    names = meta.get("params")
    if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        return problems + ["optimizer.json: 'params' must be a list of parameter names"]
    unknown = [n for n in names if n not in parameters]
    if unknown:
        problems.append(f"optimizer.json: the state is for parameter {unknown[0]!r}, which the "
                        f"network does not have")
    scalars = meta.get("scalars", {})
    if not isinstance(scalars, dict) or not all(
            isinstance(v, dict) and all(x is None or isinstance(x, bool) or _is_number(x)
                                        and abs(x) <= 2 ** 53 for x in v.values())
            for v in scalars.values()):
        problems.append("optimizer.json: 'scalars' must map parameter names to objects of "
                        "finite numbers")
    else:
        twice = [f"{n}/{k}" for n, v in scalars.items() for k in v if f"{n}/{k}" in tensors]
        if twice:
            problems.append(f"optimizer.json: {twice[0]!r} is both a scalar and a tensor of "
                            f"optimizer.safetensors")
    if "grad_scaler" in meta:
        problems.extend(f"optimizer.json: 'grad_scaler' {p}"
                        for p in scaler_problems(meta["grad_scaler"]))
    for key, tensor in tensors.items():
        name = key.rpartition("/")[0]
        if not tensor.dtype.is_floating_point:
            problems.append(f"optimizer.safetensors: {key!r} holds {tensor.dtype} values; an "
                            f"optimizer's state is floating point")
        elif not bool(tensor.isfinite().all()):
            problems.append(f"optimizer.safetensors: {key!r} holds NaN or infinite values")
        elif key.endswith(NON_NEGATIVE) and bool((tensor < 0).any()):
            problems.append(f"optimizer.safetensors: {key!r} holds negative values (it is a "
                            f"running count or sum of squares)")
        elif name not in names:
            problems.append(f"optimizer.safetensors: {key!r} is not the state of a listed "
                            f"parameter")
        elif tensor.dim() and name in parameters and tuple(tensor.shape) != parameters[name]:
            problems.append(f"optimizer.safetensors: {key!r} has shape {tuple(tensor.shape)} "
                            f"but {name} is {parameters[name]}")
    return problems


OPTIMIZER_FORMAT = 1        # engine.run.optim.STATE_FORMAT
OPTIMIZER_KEYS = ("format", "optimizer", "params", "scalars", "grad_scaler")
NON_NEGATIVE = ("/step", "/exp_avg_sq", "/max_exp_avg_sq", "/square_avg", "/sum")


# ----------------------------------------------------------------------------- loss scaler state

# torch.amp.GradScaler.state_dict(): the current loss scale, its settings, and the number of
# steps since the scale last changed. Stored in optimizer.json as "grad_scaler" (fp16 runs).
SCALER_KEYS = ("scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker")
FLOAT32_MAX = 3.4028234663852886e38     # the scale is held in a float32 tensor
INT32_MAX = 2 ** 31 - 1                 # the growth tracker is held in an int32 tensor


def scaler_problems(state: Any) -> list[str]:
    """Problems of a stored GradScaler state: an object with exactly SCALER_KEYS, a finite
    positive scale, a growth factor above 1, a backoff factor between 0 and 1, a whole growth
    interval of at least 1 and a whole growth tracker from 0 to below the interval."""
    if not isinstance(state, dict):
        return ["must be an object"]
    problems = [f"lacks {key!r}" for key in SCALER_KEYS if key not in state]
    problems += [f"has an unexpected key {key!r}" for key in state if key not in SCALER_KEYS]
    for key, (kind, fits, words) in SCALER_CHECKS.items():
        if key in state and not (kind(state[key]) and fits(state[key])):
            problems.append(f"{key!r} {words}, not {_shown(state[key])}")
    if not problems and state["_growth_tracker"] >= state["growth_interval"]:
        problems.append(f"'_growth_tracker' ({state['_growth_tracker']}) must be below "
                        f"'growth_interval' ({state['growth_interval']})")
    return problems


def _shown(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# key: (type check, range check, what it must be)
SCALER_CHECKS = {
    "scale": (_is_number, lambda v: 0 < v <= FLOAT32_MAX, "must be a finite positive number"),
    "growth_factor": (_is_number, lambda v: 1 < v <= FLOAT32_MAX,
                      "must be a finite number above 1"),
    "backoff_factor": (_is_number, lambda v: 0 < v < 1, "must be a number between 0 and 1"),
    "growth_interval": (_is_whole, lambda v: 1 <= v <= INT32_MAX,
                        "must be a whole number of steps of at least 1"),
    "_growth_tracker": (_is_whole, lambda v: 0 <= v <= INT32_MAX,
                        "must be a whole number of steps, at least 0"),
}
