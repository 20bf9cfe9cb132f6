"""What the worker thread runs: plain Python around the engine, no Qt.

Each job loads its data set (reporting download progress), calls the engine with an
`EventQueue` and `LiveViews` as callbacks, and returns an `Outcome`; it never raises, so the
thread always ends with an answer. Marker records (`Phase`, `Download`) go on the same queue as
the engine's events, in order, so the window knows which part of a job the events belong to.
"""
from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass, field
from typing import Any

import engine
from engine import LiveViews


@dataclass(frozen=True)
class Phase:
    """A part of a job begins: "data", "pretrain", "train" or "probe"; `run` names a compared run."""
    name: str
    title: str
    run: str = ""


@dataclass(frozen=True)
class Download:
    file: str
    done: int
    total: int


@dataclass
class Outcome:
    """How a job ended. status: finished, stopped or failed (with `message`)."""
    kind: str
    status: str = "finished"
    message: str = ""
    run: Any = None              # engine Run (train), Pretrained (failed pre-training)
    comparison: Any = None       # engine Comparison (compare)
    stats: dict | None = None    # probe statistics (probe)
    dataset: Any = None          # the engine Dataset used


@dataclass
class Request:
    """A training request: where to start, on what, with which settings."""
    start: Any                   # NetworkSpec, engine Model, or an object with model/history/...
    dataset: Any                 # {"name", "options"} or an engine Dataset already loaded
    config: Any                  # engine.TrainConfig
    pretrain: dict = field(default_factory=dict)   # {"mode", "epochs", "lr", "noise", "tied"}


class Cancelled(Exception):
    pass


class _Tracker(engine.Callback):
    """Keeps the run being trained, so an unexpected error still leaves its history."""
    run = None

    def on_train_start(self, run) -> None:
        self.run = run


def load_data(reference, queue, control) -> engine.Dataset:
    if isinstance(reference, engine.Dataset):
        return reference
    name, options = reference.get("name", ""), dict(reference.get("options") or {})
    if not name:
        raise engine.DatasetError("no data set is chosen: pick one in the Training panel")

    def progress(file: str, done: int, total: int) -> None:
        if control.stopping:
            raise Cancelled()
        queue.queue.put(Download(file, done, total))
    queue.queue.put(Phase("data", f"loading {name}"))
    return engine.load_dataset(name, progress=progress, **options)


def _input_shape(start) -> tuple:
    model = start if isinstance(start, engine.Model) else getattr(start, "model", None)
    if model is not None:
        return model.input_shape
    analysis = engine.analyze(start if isinstance(start, engine.NetworkSpec) else start.spec)
    return analysis.shapes[analysis.input_id]


def _callbacks(queue, data, config) -> list:
    _, val = data.split(config.val_fraction, config.seed)
    return [queue, LiveViews(data, queue.queue.put, val)]


def _guarded(kind: str, body, tracker: _Tracker | None = None) -> Outcome:
    try:
        return body()
    except Cancelled:
        return Outcome(kind, "stopped", "stopped before training began")
    except engine.TrainingError as exc:
        return Outcome(kind, "failed", str(exc), run=getattr(exc, "run", None))
    except engine.LayerwiseError as exc:
        return Outcome(kind, "failed", str(exc))
    except Exception as exc:     # an unexpected error still ends the job with a message
        traceback.print_exc(file=sys.stderr)
        return Outcome(kind, "failed", f"training failed: {type(exc).__name__}: {exc}",
                       run=tracker.run if tracker else None)


def train_job(request: Request, queue, control) -> Outcome:
    """Optionally pre-train, then train; the Outcome holds the Run (or the failed run)."""
    tracker = _Tracker()

    def body() -> Outcome:
        data = load_data(request.dataset, queue, control).fit_input(
            _input_shape(request.start))
        cfg = request.config
        callbacks = _callbacks(queue, data, cfg)
        start = request.start
        mode = (request.pretrain or {}).get("mode", "none")
        if mode in ("supervised", "unsupervised"):
            queue.queue.put(Phase("pretrain", f"{mode} pre-training"))
            start = _pretrain(start, data, cfg, request.pretrain, callbacks, control)
            if start.status != "finished":
                return Outcome("train", start.status, start.message, run=start, dataset=data)
        queue.queue.put(Phase("train", "training"))
        run = engine.train(start, data, cfg, callbacks=callbacks + [tracker], control=control)
        return Outcome("train", run.status, run.message, run=run, dataset=data)
    return _guarded("train", body, tracker)


def _pretrain(start, data, cfg, settings: dict, callbacks, control):
    network = start if isinstance(start, (engine.NetworkSpec, engine.Model)) else start.model
    return engine.pretrain(network, data, mode=settings["mode"],
                           epochs=int(settings.get("epochs", 3)), lr=settings.get("lr"),
                           optimizer=cfg.optimizer, batch_size=cfg.batch_size,
                           noise=float(settings.get("noise", 0.25)),
                           tied=bool(settings.get("tied", False)), seed=cfg.seed,
                           device=cfg.device, val_fraction=cfg.val_fraction,
                           callbacks=callbacks, control=control)


def compare_job(request: Request, queue, control) -> Outcome:
    """Random initialisation against pre-training (the chosen mode, or both)."""
    def body() -> Outcome:
        data = load_data(request.dataset, queue, control).fit_input(
            _input_shape(request.start))
        cfg, pre = request.config, request.pretrain or {}
        mode = pre.get("mode", "none")
        modes = (mode,) if mode in ("supervised", "unsupervised") else \
            ("supervised", "unsupervised")
        result = engine.compare_pretraining(
            request.start, data, cfg, modes=modes, pretrain_epochs=int(pre.get("epochs", 3)),
            pretrain_lr=pre.get("lr"), noise=float(pre.get("noise", 0.25)),
            tied=bool(pre.get("tied", False)), callbacks=_callbacks(queue, data, cfg),
            control=control)
        status = "stopped" if result.stopped else "finished"
        return Outcome("compare", status, "", comparison=result, dataset=data)
    return _guarded("compare", body)


def probe_job(request: Request, queue, control) -> Outcome:
    """The trainability check: engine.probe on one batch, weights unchanged."""
    def body() -> Outcome:
        data = load_data(request.dataset, queue, control)
        queue.queue.put(Phase("probe", "checking trainability"))
        network = request.start if isinstance(request.start, (engine.NetworkSpec,
                                                               engine.Model)) \
            else request.start.model
        cfg = request.config
        stats = engine.probe(network, data, seed=cfg.seed, loss=cfg.loss, device=cfg.device)
        return Outcome("probe", stats=stats, dataset=data)
    return _guarded("probe", body)


def data_job(reference: dict, queue, control) -> Outcome:
    """Load (and if needed download) a data set, for its preview."""
    return _guarded("data", lambda: Outcome("data", dataset=load_data(reference, queue,
                                                                        control)))
