"""engine.train: a plain blocking training loop, usable from any thread.

Each epoch shuffles the training part of the data with a generator seeded by (seed, epoch) and
reseeds torch's generator the same way (dropout), so the same seed on the CPU gives exactly the
same history, and a run stopped at an epoch boundary and resumed matches one that never
stopped. Between batches the loop checks a `Control` (pause, resume, stop). It reports through
callbacks and event objects (engine.run.events); probes are a callback too (engine.run.probes).
Under torchrun (engine.run.distributed) each process trains on its shard of the same epoch order
through DistributedDataParallel; the loss, stopping and the epoch sums are agreed across ranks.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from engine.data import Dataset, load_dataset
from engine.run.distributed import SINGLE, Distributed
from engine.errors import TrainingError
from engine.run.events import (Control, Dispatcher, EpochEvent, FailedEvent, FinishedEvent,
                     ProbeEvent, StepEvent)
from engine.run.history import continue_history, finished_epochs, last_step
from engine.network.model import Model
from engine.run.objective import ActivationL1, Objective, make_objective
from engine.run.optim import OptimizerState, capture, lr_at, make_optimizer, restore, set_lr
from engine.run.probes import ProbeCallback
from engine.run.config import TrainConfig
from engine.run.setup import Mixed, Start, resolve_device, resolve_network, to_device

VAL_BATCH = 1024


@dataclass
class Run:
    """A training run: the model (trained in place), its config, its history (see
    engine.run.history), the data set it used, the device, and how it ended (`status`: finished,
    stopped or failed, with `message`)."""
    model: Model
    config: TrainConfig
    history: dict
    dataset: dict = field(default_factory=dict)
    device: str = "cpu"
    optimizer: torch.optim.Optimizer | None = field(default=None, repr=False)
    scaler: torch.amp.GradScaler | None = field(default=None, repr=False)   # fp16 runs
    status: str = "new"
    message: str = ""

    @property
    def stopped(self) -> bool:
        return self.status == "stopped"

    def optimizer_state(self) -> OptimizerState | None:
        """The optimizer's state by parameter name, ready to store (safetensors + JSON), with
        the loss scaler's state of an fp16 run."""
        if self.optimizer is None:
            return None
        names = [n for n, _ in self.model.named_parameters()]
        return capture(self.optimizer, names, self.config.optimizer, self.scaler)

    def config_record(self) -> dict:
        """The config as stored in a file, with the data set used."""
        return {**self.config.to_dict(), "dataset": self.dataset}

    def save(self, path) -> Path:
        """Write a .lwnet with the network, weights, config, data set, history and optimizer
        state (with the loss scaler's, fp16), from which `train` can continue."""
        from engine.io.lwnet import save
        return save(path, self.model.spec, model=self.model, history=self.history,
                    config=self.config_record(), optimizer=self.optimizer_state())


def train(network, dataset, config: TrainConfig | None = None, callbacks=(),
          control: Control | None = None, distributed: Distributed | None = None) -> Run:
    """Train `network` (a NetworkSpec, an engine.Model, a loaded .lwnet or an earlier Run, which
    continue where they left off) on `dataset` (a Dataset, a name or a path) for
    `config.epochs` epochs. Blocks until the run ends; returns the Run. A stopped run returns
    normally (run.status == "stopped"); a failed one (NaN loss, out of memory) raises
    TrainingError whose `.run` holds the model with its last finite weights and the history.
    `distributed` (from engine.run.distributed.launch) makes this one process of a torchrun run:
    it trains on its device and its shard, and every rank ends with the same weights."""
    config = config if config is not None else TrainConfig()
    if not isinstance(config, TrainConfig):
        raise TrainingError(f"config must be an engine.TrainConfig, not "
                            f"{type(config).__name__}")
    dist = distributed or SINGLE
    device = dist.device if dist.active else resolve_device(config.device)
    start = resolve_network(network, config.seed)
    data = load_dataset(dataset).fit_input(start.model.input_shape)
    objective = make_objective(start.model, data, config.loss)
    run = Run(start.model, config, continue_history(start.history), data.reference(),
              str(device))
    return _Loop(run, data, objective, start, list(callbacks), control or Control(),
                 dist).fit()


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of epoch `epoch` (0-based) for shuffling and dropout."""
    return (int(seed) * 1_000_003 + int(epoch)) % (2 ** 63)


def epoch_order(n: int, seed: int, epoch: int, device) -> torch.Tensor:
    """The order in which epoch `epoch` visits the n training samples."""
    g = torch.Generator().manual_seed(epoch_seed(seed, epoch))
    return torch.randperm(n, generator=g).to(device)


class _Diverged(Exception):
    pass


class _Loop:
    def __init__(self, run: Run, data: Dataset, objective: Objective, start: Start,
                 callbacks: list, control: Control, dist: Distributed):
        self.run, self.objective, self.control, self.dist = run, objective, control, dist
        self.cfg = cfg = run.config
        self.device = torch.device(run.device)
        self.mixed = Mixed(cfg.precision, self.device)
        self.model = run.model.to(self.device)
        self.x, self.y, self.vx, self.vy = _split(data, cfg, self.device)
        self.net = dist.wrap(self.model)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = make_optimizer(cfg, self.params)
        self.resumed = bool(start.optimizer_state) and restore(
            self.optimizer, list(self.model.named_parameters()), start.optimizer_state,
            cfg.optimizer)
        self.scaler_resumed = self.mixed.load_state(start.optimizer_state)
        run.optimizer, run.scaler = self.optimizer, self.mixed.scaler
        self.step = last_step(run.history)
        self.first_epoch = finished_epochs(run.history)
        self.end_epoch = self.first_epoch + cfg.epochs
        self.dispatch = Dispatcher(callbacks, run)
        self.probe = None
        if cfg.probe_every and dist.is_main:       # DDP's gradient hooks need a plain backward
            self.probe = ProbeCallback(self.model, cfg.probe_every, self.dispatch.emit,
                                       self.mixed.loss_scale,
                                       params=None if dist.active else self.params,
                                       listening=lambda: self.dispatch.wants(ProbeEvent))
            self.dispatch.add(self.probe, first=True)
        self.l1 = ActivationL1(self.model, cfg.l1_activation) if cfg.l1_activation else None
        self.paused_s = 0.0
        self.skipped = 0            # steps the fp16 loss scaler skipped (overflowed gradients)

    # ------------------------------------------------------------------ the run
    def fit(self) -> Run:
        t0 = time.perf_counter()
        record = {"start_step": self.step, "start_epoch": self.first_epoch,
                  "epochs": self.cfg.epochs, "device": str(self.device),
                  "optimizer": self.cfg.optimizer,
                  "optimizer_state": "restored" if self.resumed else "new",
                  "precision": self.cfg.precision, "processes": self.dist.world_size,
                  "batch_size": self.cfg.batch_size,
                  "global_batch": self.dist.global_batch(self.cfg.batch_size)}
        if self.mixed.scaler is not None:
            record["grad_scaler"] = "restored" if self.scaler_resumed else "new"
        self.run.history["runs"].append(record)
        try:
            self.model.train()
            self.dispatch.call("on_train_start")
            status = "finished" if self._epochs() else "stopped"
            self._end(record, status, t0)
        except _Diverged as exc:
            self._fail(record, str(exc), t0)
        except torch.OutOfMemoryError:
            self._fail(record, f"the {self.device} device ran out of memory at step "
                               f"{self.step + 1}: lower the batch size (now "
                               f"{self.cfg.batch_size}) or use a smaller network", t0)
        except Exception as exc:
            self._fail(record, f"training failed at step {self.step + 1}: {exc}", t0,
                       raise_as=exc)
        finally:
            if self.l1:
                self.l1.remove()
            self.dispatch.call("on_train_end")
        return self.run

    def _end(self, record: dict, status: str, t0: float) -> None:
        seconds = time.perf_counter() - t0 - self.paused_s
        message = "" if status == "finished" else f"stopped on request after step {self.step}"
        self._close(record, status, message, seconds)
        self.dispatch.emit(FinishedEvent(status, self.step, finished_epochs(self.run.history),
                                         seconds))

    def _fail(self, record: dict, message: str, t0: float, raise_as=None) -> None:
        self._close(record, "failed", message, time.perf_counter() - t0 - self.paused_s)
        error = TrainingError(message)
        error.run = self.run
        self.dispatch.emit(FailedEvent(message, self.step, raise_as or error))
        if raise_as is not None:
            raise raise_as
        raise error

    def _close(self, record: dict, status: str, message: str, seconds: float) -> None:
        record.update(status=status, steps=self.step - record["start_step"], seconds=seconds)
        if self.mixed.scaler is not None:
            record["skipped_steps"] = self.skipped
        self.run.status = self.run.history["status"] = status
        self.run.message = self.run.history["message"] = message

    # ------------------------------------------------------------------ epochs and batches
    def _epochs(self) -> bool:
        for epoch in range(self.first_epoch, self.end_epoch):
            if not self._epoch(epoch):
                return False
        return True

    def _epoch(self, epoch: int) -> bool:
        cfg = self.cfg
        lr = lr_at(cfg, epoch, self.end_epoch)
        set_lr(self.optimizer, lr)
        torch.manual_seed(epoch_seed(cfg.seed, epoch) + self.dist.rank)
        order = self.dist.shard(epoch_order(len(self.x), cfg.seed, epoch, self.device))
        self.dispatch.call("on_epoch_start", epoch + 1)
        t0, paused0 = time.perf_counter(), self.paused_s
        batches = math.ceil(len(order) / cfg.batch_size)
        # predicted classes, counted right once at the epoch's end (not per batch)
        predicted = torch.empty(len(order), dtype=torch.long, device=self.device) \
            if self.objective.predict is not None else None
        loss_sum = 0.0
        for b in range(batches):
            if self.dist.any(self._should_stop()):
                return False
            part = slice(b * cfg.batch_size, (b + 1) * cfg.batch_size)
            idx = order[part]
            loss_sum += self._batch(self.x[idx], self.y[idx],
                                    None if predicted is None else predicted[part],
                                    epoch, b, batches, lr) * len(idx)
        seconds = time.perf_counter() - t0 - (self.paused_s - paused0)
        correct = (predicted == self.y[order]).sum() if predicted is not None else \
            torch.zeros((), device=self.device)
        self._epoch_end(epoch, lr, loss_sum, len(order), correct, seconds)
        return True

    def _should_stop(self) -> bool:
        if not self.control.paused:
            return self.control.wait()
        t = time.perf_counter()
        stop = self.control.wait()
        self.paused_s += time.perf_counter() - t
        return stop

    def _batch(self, xb, yb, predicted, epoch: int, b: int, batches: int, lr: float) -> float:
        step = self.step + 1
        self.dispatch.call("on_batch_start", step)
        with self.mixed.autocast():
            out = self.net(xb)
            loss = self.objective.loss(out, yb)
            if self.l1:
                loss = loss + self.l1.penalty()
        value = self.dist.mean(loss.detach()).item()
        if not math.isfinite(value):
            raise _Diverged(_diverged_message("loss", value, step, epoch, self.cfg))
        self.optimizer.zero_grad(set_to_none=True)
        self.mixed.backward(loss, self.optimizer,
                            self.probe.backward_for(step) if self.probe else None)
        self.dispatch.call("on_after_backward", step)
        if self.cfg.grad_clip:
            norm = torch.nn.utils.clip_grad_norm_(self.params, self.cfg.grad_clip)
            if not self.mixed.skips_bad_steps and not torch.isfinite(norm):
                raise _Diverged(_diverged_message("gradient norm", float(norm), step, epoch,
                                                  self.cfg))
        if not self.mixed.step(self.optimizer):
            self.skipped += 1
        self.step = step
        if predicted is not None:
            self.objective.predict(out, predicted)
        self.run.history["steps"].append({"step": step, "epoch": epoch + 1, "loss": value})
        if self.dispatch.wants(StepEvent):
            self.dispatch.emit(StepEvent(step, epoch + 1, b + 1, batches, value, lr, len(yb)))
        return value

    def _epoch_end(self, epoch: int, lr: float, loss_sum: float, samples: int, correct,
                   seconds: float) -> None:
        n, nv = samples * self.dist.world_size, len(self.vx)    # n counts a shard's repeats
        val_loss, val_correct = self._validate()
        train_correct, val_loss, val_correct = self.dist.sum(torch.stack(
            [correct.float(), val_loss.float(), val_correct.float()])).tolist()
        classes = self.objective.correct is not None
        record = {"epoch": epoch + 1, "train_loss": loss_sum / samples,
                  "train_acc": train_correct / n if classes else None,
                  "val_loss": val_loss / nv if nv else None,
                  "val_acc": val_correct / nv if nv and classes else None,
                  "lr": lr, "seconds": seconds}
        self.run.history["epochs"].append(record)
        self.dispatch.emit(EpochEvent(epoch + 1, record))

    @torch.no_grad()
    def _validate(self):
        loss = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device)
        part = self.dist.val_slice(len(self.vx))
        vx, vy = self.vx[part], self.vy[part]
        if not len(vx):
            return loss, correct
        self.model.eval()
        try:
            for i in range(0, len(vx), VAL_BATCH):
                x, y = vx[i:i + VAL_BATCH], vy[i:i + VAL_BATCH]
                with self.mixed.autocast():
                    out = self.model(x)
                loss += self.objective.loss(out, y) * len(x)
                if self.objective.correct is not None:
                    correct += self.objective.correct(out, y)
        finally:
            self.model.train()
        return loss, correct


def _split(data: Dataset, cfg: TrainConfig, device):
    train_idx, val_idx = data.split(cfg.val_fraction, cfg.seed)
    return (to_device(data.x[train_idx], device), to_device(data.y[train_idx], device),
            to_device(data.x[val_idx], device), to_device(data.y[val_idx], device))


def _diverged_message(what: str, value: float, step: int, epoch: int, cfg: TrainConfig) -> str:
    return (f"the {what} became {value} at step {step} (epoch {epoch + 1}), so training "
            f"stopped; the model keeps its weights from before that step. Try a lower "
            f"learning rate (now {cfg.learning_rate:g}), gradient clipping (grad_clip), or "
            f"another initialisation")
