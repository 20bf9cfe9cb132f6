"""What the worker thread runs: plain Python around the engine, no Qt.

Each job loads its data set (reporting download progress), runs the engine with an
`EventQueue` and `LiveViews` as callbacks, and returns an `Outcome`; it never raises, so the
thread always ends with an answer. A training run and a comparison are the recipe's
(engine.run_recipe, engine.compare_pretraining): the window assembles no stages of its own.
`PhaseEvent`s ("data", "probe") and `Download` records go on the same queue as the engine's
events, in order, so the window knows which part of a job the events belong to.
"""
from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass
from typing import Any

import engine


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
    run: Any = None              # engine Run (train; the failed run's last good state)
    comparison: Any = None       # engine Comparison (compare)
    stats: dict | None = None    # probe statistics (probe)
    dataset: Any = None          # the engine Dataset used
    adopted: bool = False        # its run's weights are the document's already


@dataclass
class Request:
    """A job's request: where to start, the data set already loaded (or None: the recipe's is
    loaded in the job), and the recipe."""
    start: Any                   # NetworkSpec, engine Model, or an object with model/history/...
    dataset: Any                 # an engine Dataset, or None
    recipe: Any                  # engine.Recipe


class Cancelled(Exception):
    pass


class _Tracker(engine.Callback):
    """Keeps the run being trained, so an unexpected error still leaves its history."""
    run = None

    def on_train_start(self, run) -> None:
        self.run = run


def load_data(request: Request, queue, control) -> engine.Dataset:
    if isinstance(request.dataset, engine.Dataset):
        return request.dataset
    ref = request.recipe.data
    if not ref.name:
        raise engine.DatasetError("no data set is chosen: pick one in the Training panel")

    def progress(file: str, done: int, total: int) -> None:
        if control.stopping:
            raise Cancelled()
        queue.queue.put(Download(file, done, total))
    queue.queue.put(engine.PhaseEvent("data", f"loading {ref.name}"))
    data = engine.load_dataset(ref.name, progress=progress, **ref.options)
    queue.queue.put(engine.PhaseEvent("data", ""))      # loaded: the job's own words again
    return data


def _input_shape(start) -> tuple:
    model = start if isinstance(start, engine.Model) else getattr(start, "model", None)
    if model is not None:
        return model.input_shape
    analysis = engine.analyze(start if isinstance(start, engine.NetworkSpec) else start.spec)
    return analysis.shapes[analysis.input_id]


def _callbacks(queue, data, config) -> list:
    _, val = data.split(config.val_fraction, config.seed)
    return [queue, engine.LiveViews(data.with_target(config.target), queue.queue.put, val)]


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
    """The recipe's run (pre-training stages, then training); the Outcome holds the Run."""
    tracker = _Tracker()

    def body() -> Outcome:
        recipe = request.recipe
        data = load_data(request, queue, control).fit_input(_input_shape(request.start))
        callbacks = _callbacks(queue, data, recipe.train) + [tracker]
        run = engine.run_recipe(request.start, recipe, dataset=data, callbacks=callbacks,
                                control=control)
        return Outcome("train", run.status, run.message, run=run, dataset=data)
    return _guarded("train", body, tracker)


def compare_job(request: Request, queue, control) -> Outcome:
    """Random initialisation against pre-training (the recipe's mode, or both)."""
    def body() -> Outcome:
        recipe = request.recipe
        data = load_data(request, queue, control).fit_input(_input_shape(request.start))
        modes = (recipe.pretrain.mode,) if recipe.pretrain.active else \
            ("supervised", "unsupervised")
        result = engine.compare_pretraining(request.start, recipe, modes=modes, dataset=data,
                                            callbacks=_callbacks(queue, data, recipe.train),
                                            control=control)
        status = "stopped" if result.stopped else "finished"
        return Outcome("compare", status, "", comparison=result, dataset=data)
    return _guarded("compare", body)


def probe_job(request: Request, queue, control) -> Outcome:
    """The trainability check: engine.probe on one batch, weights unchanged."""
    def body() -> Outcome:
        data = load_data(request, queue, control)
        queue.queue.put(engine.PhaseEvent("probe", "checking trainability"))
        network = request.start if isinstance(request.start, (engine.NetworkSpec,
                                                               engine.Model)) \
            else request.start.model
        cfg = request.recipe.train
        stats = engine.probe(network, data, seed=cfg.seed, loss=cfg.loss, device=cfg.device)
        return Outcome("probe", stats=stats, dataset=data)
    return _guarded("probe", body)


def data_job(recipe, queue, control) -> Outcome:
    """Load (and if needed download) a data set, for its preview."""
    request = Request(None, None, recipe)
    return _guarded("data", lambda: Outcome("data", dataset=load_data(request, queue,
                                                                        control)))
