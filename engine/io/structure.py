"""The structure of a file's JSON members, checked at load (and at save) so that nothing
accepted can crash a later consumer: the summary, the Runs table, the CSV export, a resume.

A check is a function (value, where, problems) that appends a sentence per problem. Records
are objects with known fields of known types; fields a newer writer may add are accepted when
they hold a plain value (a number, text, true/false or null), never a nested structure.
Before parsing, `json_limits` bounds a member's element count, so that a small compressed
member cannot become gigabytes of Python objects.
"""
from __future__ import annotations

import math
from typing import Any, Callable

Check = Callable[[Any, str, list], None]

MAX_TEXT = 10_000               # characters in one text value
MAX_WHOLE = 2 ** 53             # whole numbers (steps, epochs) stay exact as floats
MAX_PROBLEMS = 10               # per member: checking stops there (a file is not 10,000 lines)
# Elements (values, counted before parsing from the separators) a JSON member may hold.
ELEMENT_LIMITS = {
    "manifest.json": 10_000, "network.json": 4_000_000, "training.json": 100_000,
    "history.json": 16_000_000, "optimizer.json": 4_000_000, "runs.json": 16_000_000,
}
TOTAL_ELEMENTS = 24_000_000     # all JSON members of one file together


def json_limits(members: dict[str, bytes], problems: list[str]) -> set[str]:
    """The names of the JSON members too big to parse (a problem is added for each)."""
    refused, total = set(), 0
    for name, limit in ELEMENT_LIMITS.items():
        if name not in members:
            continue
        data = members[name]
        count = data.count(b",") + data.count(b"[") + data.count(b"{") + 1
        total += count
        if count > limit:
            problems.append(f"{name} holds about {count:,} values; at most {limit:,} are "
                            f"allowed")
            refused.add(name)
    if total > TOTAL_ELEMENTS and not refused:
        problems.append(f"the file's JSON members hold about {total:,} values together; at "
                        f"most {TOTAL_ELEMENTS:,} are allowed")
        refused.update(n for n in ELEMENT_LIMITS if n in members)
    return refused


def validate(check: Check, value: Any, member: str, problems: list[str]) -> bool:
    """Run `check` on a member's parsed value; its problems (checking stops after
    MAX_PROBLEMS) go to `problems`. True if it has none."""
    found: list[str] = []
    check(value, member, found)
    if len(found) > MAX_PROBLEMS:
        found = found[:MAX_PROBLEMS] + [f"{member}: checking stopped after {MAX_PROBLEMS} "
                                        f"problems; there may be more"]
    problems.extend(found)
    return not found


# ----------------------------------------------------------------------------- plain values

def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _full(problems: list) -> bool:
    return len(problems) > MAX_PROBLEMS


def number(value, where, problems) -> None:
    """A number or null (a diverged loss is stored as null)."""
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)
                         and (isinstance(value, int) and abs(value) <= MAX_WHOLE
                              or isinstance(value, float) and not math.isnan(value))):
        return
    problems.append(f"{where} must be a number or null, not {_shown(value)}")


def whole(value, where, problems) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_WHOLE:
        return
    problems.append(f"{where} must be a whole number from 0 to 2**53, not {_shown(value)}")


def text(value, where, problems) -> None:
    if isinstance(value, str) and len(value) <= MAX_TEXT:
        return
    problems.append(f"{where} must be text of at most {MAX_TEXT:,} characters"
                    + ("" if isinstance(value, str) else f", not {_shown(value)}"))


def plain(value, where, problems) -> None:
    """Any single value: a number, text, true/false or null."""
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        text(value, where, problems)
    elif isinstance(value, (int, float)):
        number(value, where, problems)
    else:
        kind = "a list" if isinstance(value, list) else "an object"
        problems.append(f"{where} must be a single value (a number, text, true/false or "
                        f"null), not {kind}")


# ----------------------------------------------------------------------------- containers

def list_of(item: Check) -> Check:
    def run(value, where, problems):
        if not isinstance(value, list):
            problems.append(f"{where} must be a list")
            return
        for i, v in enumerate(value):
            item(v, f"{where}[{i}]", problems)
            if _full(problems):
                return
    return run


def numbers(value, where, problems) -> None:
    """A list of numbers or nulls (a probe column, a stage's losses): checked in one pass."""
    if not isinstance(value, list):
        problems.append(f"{where} must be a list of numbers")
        return
    for i, v in enumerate(value):
        if v is None or type(v) is float and v == v or type(v) is int and abs(v) <= MAX_WHOLE:
            continue
        number(v, f"{where}[{i}]", problems)
        if _full(problems):
            return


def record(fields: dict[str, Check], required: tuple[str, ...] = (),
           extra: Check | None = plain) -> Check:
    """An object with `fields` (each checked when present), `required` ones always present,
    and other keys checked with `extra` (refused when None)."""
    def run(value, where, problems):
        if not isinstance(value, dict):
            problems.append(f"{where} must be an object")
            return
        problems.extend(f"{where} lacks {key!r}" for key in required if key not in value)
        for key, v in value.items():
            check = fields.get(key, extra)
            if check is None:
                problems.append(f"{where} has an unexpected key {_shown(key)}")
            else:
                check(v, f"{where}.{key}" if len(key) <= 40 else f"{where}.{key[:37]}...",
                      problems)
            if _full(problems):
                return
    return run


def table(item: Check) -> Check:
    """An object mapping names (text) to values checked with `item`."""
    def run(value, where, problems):
        if not isinstance(value, dict):
            problems.append(f"{where} must be an object")
            return
        for key, v in value.items():
            if len(key) > 200:
                problems.append(f"{where} has a name longer than 200 characters")
                return
            item(v, f"{where}.{key}", problems)
            if _full(problems):
                return
    return run


# ----------------------------------------------------------------------------- members

def probes(value, where, problems) -> None:
    """{"step": [whole], "layers": {node: {stat: [number]}}}, every column as long as "step"
    (or {}: no probes)."""
    if value == {}:
        return
    found: list[str] = []
    record({"step": list_of(whole), "layers": table(table(numbers))},
           required=("step", "layers"), extra=None)(value, where, found)
    problems.extend(found)
    if found:
        return
    n = len(value["step"])
    for node, stats in value["layers"].items():
        for stat, column in stats.items():
            if len(column) != n:
                problems.append(f"{where}.layers.{node}.{stat} has {len(column)} values for "
                                f"{n} probed steps")
                return


EPOCH = record({"epoch": whole, "train_loss": number, "train_acc": number, "val_loss": number,
                "val_acc": number, "lr": number, "seconds": number}, required=("epoch",))
STEP = record({"step": whole, "epoch": whole, "loss": number}, required=("step", "loss"))
STAGE = record({"stage": whole, "of": whole, "mode": text, "node": text, "layer": text,
                "nodes": list_of(text), "loss_name": text, "settings": record({}),
                "loss": numbers, "val_loss": numbers, "seconds": number, "steps": whole,
                "probes": probes, "initial_val_loss": number})
RUN = record({"start_step": whole, "start_epoch": whole, "epochs": whole, "steps": whole,
              "processes": whole, "batch_size": whole, "global_batch": whole,
              "skipped_steps": whole, "seconds": number, "status": text, "network": text})
def moved(value, where, problems) -> None:
    """A key that format 2 keeps elsewhere (the step and probe series: history.safetensors)."""
    problems.append(f"{where} does not belong in history.json since format 2 (the step and "
                    f"probe series are in history.safetensors)")


# history.json's "series": the names and order of history.safetensors' columns
# (engine.io.series)
SERIES = record({"member": text, "steps": list_of(text), "probes": table(list_of(text))},
                required=("member",), extra=None)
HISTORY = record({"epochs": list_of(EPOCH), "steps": moved, "probes": moved,
                  "stages": list_of(STAGE), "runs": list_of(RUN), "status": text,
                  "message": text, "series": SERIES})
# format 1 kept the series in history.json: set apart on load (engine.io.checks.MIGRATIONS)
INLINE_SERIES = record({"steps": list_of(STEP), "probes": probes}, extra=None)
KEPT_HISTORY = record({"epochs": list_of(EPOCH), "steps": list_of(STEP), "probes": probes,
                       "stages": list_of(STAGE)})
MANIFEST = record({})


def kept_run(settings: Check) -> Check:
    """A kept run of runs.json (engine.io.runs); `settings` checks its "config"."""
    return record({"id": text, "label": text, "created": text, "config": settings,
                   "network": record({"name": text, "layers": whole}),
                   "history": KEPT_HISTORY}, required=("label",))
