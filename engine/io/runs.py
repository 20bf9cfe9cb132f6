"""Kept runs: every training run of a document, with its settings, for comparison.

A record is plain JSON-ready data: {"id", "label", "created", "config", "network",
"history": {"epochs", "steps", "probes"}}. Long step and probe series are thinned to at most
MAX_POINTS points (evenly, keeping the first and last), so a file with many runs stays small:
that is why kept runs stay plain lists in runs.json (at most a few thousand values a series),
not columns of history.safetensors as a network's own history.
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import math
import uuid
from typing import Any

MAX_POINTS = 2000


def make_record(history: dict, config: dict | None, label: str, spec=None) -> dict:
    """A record of one run from its history and config (the dataset is inside the config)."""
    from engine.run.history import probe_columns, step_columns
    history = history or {}
    steps = step_columns(history)
    probe_steps, layers = probe_columns(history)
    keep, thin = _thin_indices(len(probe_steps)), _thin_indices(len(steps["step"]))
    rows = {k: v[thin].tolist() for k, v in steps.items()}
    return {
        "id": uuid.uuid4().hex[:12], "label": label,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "config": dict(config or {}),
        "network": {"name": getattr(spec, "name", "") or "",
                    "layers": len(getattr(spec, "nodes", {}) or {})},
        "history": {
            "epochs": list(history.get("epochs") or []),
            "steps": [{"step": s, "epoch": e, "loss": _number(v)} for s, e, v in
                      zip(rows["step"], rows["epoch"], rows["loss"])],
            "probes": {"step": probe_steps[keep].tolist(),
                       "layers": {n: {s: [_number(x) for x in v[keep].tolist()]
                                      for s, v in stats.items()}
                                  for n, stats in layers.items()}},
            "stages": list(history.get("stages") or []),
        },
    }


def _number(value: float) -> float | None:
    """A value of a kept run: None when missing (NaN) or diverged, as runs.json stores it."""
    return value if math.isfinite(value) else None


def _thin_indices(n: int) -> list[int]:
    """At most MAX_POINTS indices of range(n), evenly, keeping the first and last."""
    if n <= MAX_POINTS:
        return list(range(n))
    step = (n - 1) / (MAX_POINTS - 1)
    return sorted({round(i * step) for i in range(MAX_POINTS)})


def summary(record: dict) -> dict:
    """Final numbers of a run: epochs, losses, accuracies, seconds."""
    epochs = record.get("history", {}).get("epochs") or []
    last = epochs[-1] if epochs else {}
    return {"epochs": len(epochs), "train_loss": last.get("train_loss"),
            "train_acc": last.get("train_acc"), "val_loss": last.get("val_loss"),
            "val_acc": last.get("val_acc"),
            "seconds": sum(e.get("seconds") or 0.0 for e in epochs)}


def dataset_name(record: dict) -> str:
    data = record.get("config", {}).get("dataset") or {}
    return data.get("name", "") if isinstance(data, dict) else str(data)


def config_diff(a: dict, b: dict) -> list[tuple[str, Any, Any]]:
    """The settings that differ between two runs: [(name, value in a, value in b)]."""
    ca, cb = a.get("config", {}), b.get("config", {})
    return [(k, ca.get(k), cb.get(k)) for k in sorted(set(ca) | set(cb))
            if ca.get(k) != cb.get(k)]


TABLE_COLUMNS = ("label", "dataset", "optimizer", "lr", "batch_size", "epochs", "train_loss",
                 "val_loss", "val_acc", "seconds", "created")


def table_rows(records: list[dict]) -> list[dict]:
    rows = []
    for r in records:
        cfg, s = r.get("config", {}), summary(r)
        rows.append({"label": r.get("label", ""), "dataset": dataset_name(r),
                     "optimizer": cfg.get("optimizer"), "lr": cfg.get("lr"),
                     "batch_size": cfg.get("batch_size"), "epochs": s["epochs"],
                     "train_loss": s["train_loss"], "val_loss": s["val_loss"],
                     "val_acc": s["val_acc"], "seconds": s["seconds"],
                     "created": r.get("created", "")})
    return rows


def table_csv(records: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=TABLE_COLUMNS)
    writer.writeheader()
    writer.writerows(table_rows(records))
    return out.getvalue()


def curves(record: dict) -> dict[str, tuple[list, list]]:
    """The series a comparison overlays: {name: (x, y)}."""
    h = record.get("history", {})
    epochs = h.get("epochs") or []
    steps = h.get("steps") or []
    return {"train_loss_per_step": ([s["step"] for s in steps], [s["loss"] for s in steps]),
            "val_loss": ([e["epoch"] for e in epochs], [e.get("val_loss") for e in epochs]),
            "val_acc": ([e["epoch"] for e in epochs], [e.get("val_acc") for e in epochs]),
            "train_acc": ([e["epoch"] for e in epochs], [e.get("train_acc") for e in epochs])}


def curves_csv(records: list[dict]) -> str:
    """Every run's curves in long form: run, series, x, value."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["run", "series", "x", "value"])
    for r in records:
        for name, (xs, ys) in curves(r).items():
            writer.writerows([r.get("label", ""), name, x, y] for x, y in zip(xs, ys))
    return out.getvalue()


def parse_runs(data: Any, problems: list[str]) -> list[dict]:
    """runs.json from a file: a list of kept runs, each checked in full (its history's
    structure, and its settings as engine.Recipe reads them); the valid ones."""
    from engine.io.structure import MAX_PROBLEMS, kept_run, validate
    if not isinstance(data, list):
        problems.append("runs.json must be a list of runs")
        return []
    check, good, bad = kept_run(_settings), [], 0
    for i, r in enumerate(data, start=1):
        found: list[str] = []
        if validate(check, r, f"runs.json: run {i}", found):
            good.append(r)
            continue
        bad += 1
        if bad <= 3:
            problems.extend(found[:MAX_PROBLEMS // 3])
    if bad > 3:
        problems.append(f"runs.json: and {bad - 3:,} more runs that are not valid")
    return good


def _settings(value: Any, where: str, problems: list[str]) -> None:
    """A kept run's "config": empty, or settings engine.Recipe can read."""
    from engine.errors import LayerwiseError
    from engine.run.recipe import Recipe
    if value == {} or value is None:
        return
    try:
        Recipe.from_dict(value)
    except LayerwiseError as exc:
        problems.append(f"{where}: its settings: {str(exc)[:300]}")
    except (TypeError, ValueError, OverflowError) as exc:
        problems.append(f"{where}: its settings cannot be read ({str(exc)[:200]})")
