"""The training history: plain JSON-ready data, as DESIGN.md "History" describes.

{"epochs": [{epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds}],
 "steps": [{step, epoch, loss}],
 "probes": {"step": [...], "layers": {node_id: {stat: [values aligned with step]}}},
 "stages": [...], "runs": [{start_step, start_epoch, status, device, ...}],
 "status": "finished" | "stopped" | "failed", "message": "..."}
Epoch numbers are 1-based; steps count optimizer updates from 1 over the whole history, across
resumed runs. Timing fields (seconds) are the only values that differ between identical runs.
"""
from __future__ import annotations

import copy

TIMING_KEYS = ("seconds",)


def new_history() -> dict:
    return {"epochs": [], "steps": [], "probes": {"step": [], "layers": {}}, "stages": [],
            "runs": [], "status": "new", "message": ""}


def continue_history(previous: dict | None) -> dict:
    """A copy of `previous` with every key present (so a resumed run appends to it)."""
    history = new_history()
    if previous:
        history.update(copy.deepcopy(previous))
        probes = history.get("probes") or {}
        history["probes"] = {"step": list(probes.get("step", [])),
                             "layers": dict(probes.get("layers", {}))}
    return history


def add_probe(history: dict, step: int, layers: dict[str, dict[str, float]]) -> None:
    """Append one probe snapshot; every stat list stays aligned with probes['step'] (a stat that
    appears late is padded with None for the earlier steps)."""
    probes = history["probes"]
    n = len(probes["step"])
    probes["step"].append(step)
    added = 0
    tables = probes["layers"]
    for node, stats in layers.items():
        table = tables.get(node)
        if table is None:
            table = tables[node] = {}
        for stat, value in stats.items():
            column = table.get(stat)
            if column is None:
                column = table[stat] = [None] * n
            column.append(value)
        added += len(stats)
    if added == sum(len(t) for t in tables.values()):
        return                          # the usual case: every known stat was given
    for table in tables.values():
        for values in table.values():
            if len(values) == n:
                values.append(None)


class ProbeLog:
    """Appends probe snapshots given as parallel ((node, stat), ...) keys and values. The
    history's columns for a keys tuple are looked up once and appended to directly while
    every probe brings the very same tuple (engine.run.probes hands out one per layout, the usual
    case); anything else goes through `add_probe` with `nest(keys, values)` ->
    {node: {stat: value}}."""

    def __init__(self, history: dict, nest):
        self.history, self.nest = history, nest
        self._keys: tuple | None = None
        self._columns: list[list] = []
        self._length = -1

    def add(self, step: int, keys: tuple, values: list) -> None:
        probes = self.history["probes"]
        if keys is self._keys and len(probes["step"]) == self._length:
            probes["step"].append(step)
            for column, value in zip(self._columns, values):
                column.append(value)
            self._length += 1
            return
        add_probe(self.history, step, self.nest(keys, values))
        tables = probes["layers"]
        known = sum(len(t) for t in tables.values())
        self._keys = keys if known == len(set(keys)) == len(keys) else None
        self._columns = [tables[node][stat] for node, stat in keys]
        self._length = len(probes["step"])


def last_step(history: dict) -> int:
    steps = history.get("steps") or []
    return int(steps[-1]["step"]) if steps else 0


def finished_epochs(history: dict) -> int:
    return len(history.get("epochs") or [])


def epochs_left(history: dict) -> int:
    """The epochs the history's last run still had to train: its target (start epoch +
    epochs asked for) less the epochs done; 0 without a run, or when it reached its target.
    An epoch interrupted part way is not done: a continuation trains it again."""
    runs = history.get("runs") or []
    if not runs:
        return 0
    last = runs[-1]
    target = int(last.get("start_epoch", 0)) + int(last.get("epochs", 0))
    return max(0, target - finished_epochs(history))


def network_edits(history: dict | None) -> list[int]:
    """The steps after which training went on with an edited network: where a run's record
    names another network (its "network" signature, engine.network_signature) than the run
    before it. Histories written before runs recorded their network give none."""
    steps, previous = [], None
    for record in (history or {}).get("runs") or []:
        network = record.get("network") if isinstance(record, dict) else None
        if network and previous and network != previous:
            steps.append(int(record.get("start_step", 0)))
        previous = network or previous
    return steps


def without_timing(history: dict) -> dict:
    """The history with timing fields removed (to compare two runs)."""
    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in TIMING_KEYS}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj
    return strip(history)
