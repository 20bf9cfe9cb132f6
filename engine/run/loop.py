"""The one training loop: a plain blocking loop over stages, usable from any thread.

A run is a list of stages on one loop: the greedy pre-training stages, if any
(engine.run.stages.PretrainStage), then training (FineTune). Every stage gets what training has:
a NaN check on every step's loss, gradient clipping, mixed precision, probes, pause and stop
through a `Control` checked between batches, and events for the callbacks.

The host does not wait for the device on every step: the steps' losses stay on the device until
they are read together, with the pending probes' statistics, in one transfer: at each epoch's
end, before a pause or stop, every engine.run.pending.LIVE_S seconds while someone watches the
steps or probes, and after at most engine.run.probe_callback.READ_AFTER probed steps
(engine.run.pending). So StepEvents arrive in order but in batches, and a
callback that stops or pauses on one takes effect at the next step boundary after it.

Each epoch shuffles the training part of the data with a generator seeded by (seed, epoch) and
reseeds torch's generator the same way (dropout, masking noise), so the same seed on the CPU gives
exactly the same history, and a run stopped at an epoch boundary and resumed matches one that
never stopped. Under torchrun (engine.run.distributed) each process trains on its shard of the
same epoch order through DistributedDataParallel; the loss, stopping and the epoch sums are agreed
across ranks. Pre-training runs in one process only.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.data import Dataset, load_dataset
from engine.errors import TrainingError
from engine.run.augment import Augment
from engine.run.batches import inputs
from engine.run.config import TrainConfig
from engine.run.distributed import SINGLE, Distributed
from engine.run.events import Control, Dispatcher, FailedEvent, FinishedEvent, ProbeEvent, \
    StepEvent, callback_list
from engine.run.history import continue_history, finished_epochs
from engine.network.model import Model
from engine.run.objective import Objective, make_objective
from engine.run.optim import OptimizerState, capture
from engine.run.good_weights import GoodWeights
from engine.run.pending import LIVE_S, PendingSteps, StepInfo, first_bad
from engine.run.probe_callback import ProbeCallback
from engine.run.setup import Mixed, resolve_device, resolve_network

VAL_BATCH = 1024
LIVE_EVERY = 20         # under torchrun without probes, losses are read every this many steps


@dataclass
class Run:
    """A training run: the model (trained in place), its config, its history (see
    engine.run.history), the data set it used, the device, how it ended (`status`: finished,
    stopped or failed, with `message`), and the recipe it ran (engine.run_recipe)."""
    model: Model
    config: TrainConfig
    history: dict
    dataset: dict = field(default_factory=dict)
    device: str = "cpu"
    optimizer: torch.optim.Optimizer | None = field(default=None, repr=False)
    scaler: torch.amp.GradScaler | None = field(default=None, repr=False)   # fp16 runs
    status: str = "new"
    message: str = ""
    recipe: Any = None

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

    def recipe_record(self):
        """The recipe to store with this run: the one it ran, or one made of its config and
        data set (a run started with engine.train)."""
        from engine.run.recipe import DataRef, Recipe
        data = DataRef(str(self.dataset.get("name") or ""),
                       dict(self.dataset.get("options") or {}))
        if self.recipe is not None:
            return self.recipe.replace(train=self.config, data=data)
        return Recipe(train=self.config, data=data)

    def save(self, path) -> Path:
        """Write a .lwnet with the network, weights, recipe, history and optimizer state (with
        the loss scaler's, fp16), from which `train` can continue."""
        from engine.io.lwnet import save
        return save(path, self.model.spec, model=self.model, history=self.history,
                    recipe=self.recipe_record(), optimizer=self.optimizer_state())


def train(network, dataset, config: TrainConfig | None = None, callbacks=(),
          control: Control | None = None, distributed: Distributed | None = None) -> Run:
    """Train `network` (a NetworkSpec, an engine.Model, a loaded .lwnet or an earlier Run, which
    continue where they left off) on `dataset` (a Dataset, a name or a path) for
    `config.epochs` epochs. Blocks until the run ends; returns the Run. A stopped run returns
    normally (run.status == "stopped"); a failed one (NaN loss, out of memory) raises
    TrainingError whose `.run` holds the model with its last finite weights and the history.
    `distributed` (from engine.launch) makes this one process of a torchrun run: it trains on
    its device and its shard, and every rank ends with the same weights.
    engine.run_recipe runs a whole recipe (pre-training, then this)."""
    return fit(network, dataset, config if config is not None else TrainConfig(),
               callbacks=callbacks, control=control, distributed=distributed)


def fit(network, dataset, config: TrainConfig, pretrain=None, fine_tune: bool = True,
        callbacks=(), control: Control | None = None,
        distributed: Distributed | None = None) -> Run:
    """The one loop: pre-training stages (when `pretrain`, a PretrainConfig, is active), then
    `config.epochs` of training (unless not `fine_tune`)."""
    from engine.run.pretrain_parts import check_pretrainable
    from engine.run.stages import FineTune, pretrain_stages
    if not isinstance(config, TrainConfig):
        raise TrainingError(f"config must be an engine.TrainConfig, not "
                            f"{type(config).__name__}")
    callbacks = callback_list(callbacks)
    if control is not None and not isinstance(control, Control):
        raise TrainingError(f"control must be an engine.Control, not {type(control).__name__}")
    # checked again, as copies: a field may have been set to anything since they were made
    config = dataclasses.replace(config)
    pretrain = dataclasses.replace(pretrain) if pretrain is not None else None
    pretraining = pretrain is not None and pretrain.active
    dist = distributed or SINGLE
    if pretraining and dist.active:
        raise TrainingError("pre-training does not run under torchrun: pre-train in one "
                            "process and save the result, then train that file with torchrun")
    device = dist.device if dist.active else resolve_device(config.device)
    start = resolve_network(network, config.seed)
    if pretraining:
        check_pretrainable(start)
    data = load_dataset(dataset).fit_input(start.model.input_shape).with_target(config.target)
    objective = make_objective(start.model, data, config.loss)
    run = Run(start.model, config, continue_history(start.history), data.reference(),
              str(device))
    loop = _Loop(run, data, objective, start, callbacks, control or Control(), dist)
    stages = pretrain_stages(loop, pretrain) if pretraining else []
    if fine_tune:
        stages.append(FineTune(loop, start, after_pretraining=pretraining))
    return loop.fit(stages)


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of epoch `epoch` (0-based) for shuffling and dropout."""
    return (int(seed) * 1_000_003 + int(epoch)) % (2 ** 63)


def epoch_order(n: int, seed: int, epoch: int, device) -> torch.Tensor:
    """The order in which epoch `epoch` visits the n training samples."""
    g = torch.Generator().manual_seed(epoch_seed(seed, epoch))
    return torch.randperm(n, generator=g).to(device)


class Diverged(Exception):
    """A step's loss or gradient norm became NaN or infinite (the message says which)."""


class _Loop:
    """One run: what its stages share (device, precision, the data split, callbacks, probes,
    control, pause time) and the epochs and batches of each stage. A stage (engine.run.stages)
    says what is trained: its settings, parameters, optimizer, loss, and where its numbers go."""

    def __init__(self, run: Run, data: Dataset, objective: Objective, start, callbacks: list,
                 control: Control, dist: Distributed):
        self.run, self.data, self.objective, self.control, self.dist = \
            run, data, objective, control, dist
        self.cfg = cfg = run.config
        self.device = torch.device(run.device)
        self.mixed = Mixed(cfg.precision, self.device)
        self.scaler_resumed = self.mixed.load_state(start.optimizer_state)
        run.scaler = self.mixed.scaler
        self.model = run.model.to(self.device)
        self.inputs = inputs(data, cfg, self.device)     # engine.run.batches
        self.augment = Augment.of(cfg, self.inputs.sample_shape)  # the training stage's only
        self.dispatch = Dispatcher(callbacks, run)
        self.probe = None
        if cfg.probe_every and dist.is_main:       # DDP's gradient hooks need a plain backward
            self.probe = ProbeCallback(self.model, cfg.probe_every, self.dispatch.emit,
                                       self.mixed.loss_scale,
                                       params=None if dist.active else [],
                                       listening=lambda: self.dispatch.wants(ProbeEvent))
            self.dispatch.add(self.probe, first=True)
        self.paused_s = 0.0
        self.skipped = 0            # steps the fp16 loss scaler skipped (overflowed gradients)
        self.step = 0
        self.record: dict | None = None     # history["runs"] record of the training stage
        self.batch_size = cfg.batch_size    # the running stage's (for messages)
        self.good = GoodWeights(self.model)       # the last weights with finite outputs
        self.pending = PendingSteps()       # steps whose losses the host has not read yet
        self.read_every = cfg.probe_every or LIVE_EVERY     # under torchrun (see _read_due)
        self.last_read = 0.0
        self.loss_sum = 0.0                 # the epoch's sum of loss x batch size, as read
        self.order: torch.Tensor | None = None     # the epoch's order (to find a bad batch)
        self.stage_now = None
        self.val_finite: torch.Tensor | None = None     # the last validation pass's outputs
        self.outputs_checked: bool | None = None   # ...all finite, as the stage read it

    # ------------------------------------------------------------------ the run
    def fit(self, stages: list) -> Run:
        t0 = time.perf_counter()
        try:
            self.model.train()
            self.dispatch.call("on_train_start")
            finished = all(self._stage(stage) for stage in stages)
            self._end("finished" if finished else "stopped", t0)
        except Diverged as exc:
            self._fail(f"{exc} {self._keep_good()}", t0)
        except torch.OutOfMemoryError:
            self._out_of_memory(t0)
        except RuntimeError as exc:
            if not _allocation_failed(exc):
                self._fail(f"training failed at step {self.step + 1}: {exc}", t0, raise_as=exc)
            self._out_of_memory(t0)
        except Exception as exc:
            self._fail(f"training failed at step {self.step + 1}: {exc}", t0, raise_as=exc)
        finally:
            self.dispatch.call("on_train_end")
        return self.run

    def _out_of_memory(self, t0: float) -> None:
        self._fail(f"the {self.device} device ran out of memory at step {self.step + 1}: "
                   f"lower the batch size (now {self.batch_size}) or use a smaller network", t0)

    def _stage(self, stage) -> bool:
        self.batch_size, self.stage_now = stage.config.batch_size, stage
        stage.begin()
        self.step = stage.first_step
        if self.probe is not None:
            self.probe.set_stage(stage.params, stage.probe_log, stage.index)
        try:
            return all(self._epoch(stage, epoch)
                       for epoch in range(stage.first_epoch, stage.end_epoch))
        finally:
            stage.end()

    def _end(self, status: str, t0: float) -> None:
        seconds = time.perf_counter() - t0 - self.paused_s
        message = "" if status == "finished" else f"stopped on request after step {self.step}"
        self._close(status, message, seconds)
        self.dispatch.emit(FinishedEvent(status, self.step, finished_epochs(self.run.history),
                                         seconds))

    def _fail(self, message: str, t0: float, raise_as=None) -> None:
        self._salvage()
        self._close("failed", message, time.perf_counter() - t0 - self.paused_s)
        error = TrainingError(message)
        error.run = self.run
        self.dispatch.emit(FailedEvent(message, self.step, raise_as or error))
        if raise_as is not None:
            raise raise_as
        raise error

    def _salvage(self) -> None:
        """After a failure: record the steps trained since the last read, when they can
        still be read (in one process; a device that failed may not give them back)."""
        if not len(self.pending) or self.dist.active or self.stage_now is None:
            return
        try:
            self._read(self.stage_now)
        except Exception:            # noqa: BLE001 - the failure being reported comes first
            self.pending = PendingSteps()

    def _close(self, status: str, message: str, seconds: float) -> None:
        if self.record is not None:
            self.record.update(status=status, steps=self.step - self.record["start_step"],
                               seconds=seconds)
            if self.mixed.scaler is not None:
                self.record["skipped_steps"] = self.skipped
        self.run.status = self.run.history["status"] = status
        self.run.message = self.run.history["message"] = message

    # ------------------------------------------------------------------ epochs and batches
    def _epoch(self, stage, epoch: int) -> bool:
        cfg = stage.config
        lr = stage.lr_at(epoch)
        torch.manual_seed(epoch_seed(cfg.seed, epoch) + self.dist.rank)
        order = self.dist.shard(epoch_order(self.inputs.n_train, cfg.seed, epoch, self.device))
        if stage.index == 0:
            self.dispatch.call("on_epoch_start", epoch + 1)
        t0, paused0 = time.perf_counter(), self.paused_s
        batches = math.ceil(len(order) / cfg.batch_size)
        # predicted classes, counted right once at the epoch's end (not per batch)
        predicted = torch.empty(len(order), dtype=torch.long, device=self.device) \
            if stage.predict is not None else None
        self.loss_sum, self.order = 0.0, order
        augment = self.augment if self.augment and not stage.index else None
        draws = augment.draws(len(order), epoch_seed(cfg.seed, epoch), self.dist.rank) \
            if augment is not None else None
        with self.inputs.epoch(order, cfg.batch_size, augment, draws) as inputs:
            for b, (xb, yb) in enumerate(inputs):
                if self._stop_asked(stage):
                    self._read(stage)
                    return False
                part = slice(b * cfg.batch_size, (b + 1) * cfg.batch_size)
                self._batch(stage, xb, yb,
                            None if predicted is None else predicted[part],
                            StepInfo(self.step + 1, epoch, b, batches, lr, len(xb)))
        self._read(stage)
        seconds = time.perf_counter() - t0 - (self.paused_s - paused0)
        correct = (predicted == self.inputs.y[order]).sum() if predicted is not None else \
            torch.zeros((), device=self.device)
        self.outputs_checked = None
        stage.epoch_end(epoch, lr, self.loss_sum, len(order), correct, seconds)
        if not stage.state_finite():
            raise Diverged(stage.state_overflowed(epoch))
        if self.outputs_checked if self.outputs_checked is not None else \
                self._outputs_finite():
            self.good.keep(self.model, f"after epoch {epoch + 1}" if stage.index == 0 else
                           f"after epoch {epoch + 1} of pre-training stage {stage.index}")
        return True

    @torch.no_grad()
    def _outputs_finite(self) -> bool:
        """Whether the model's outputs on a validation batch (a training batch when nothing is
        held out) are all finite."""
        x = self.inputs.first(VAL_BATCH)
        was_training = self.model.training
        self.model.eval()
        try:
            with self.mixed.autocast():
                return bool(torch.isfinite(self.model(x)).all())
        finally:
            self.model.train(was_training)

    def _keep_good(self) -> str:
        """After a divergence: back to the last weights whose outputs were finite; says which."""
        self.good.restore(self.model)
        self.run.optimizer = None       # its state belongs to the weights that diverged
        if self._outputs_finite():
            return f"The weights kept are those {self.good.when}, the last whose outputs on " \
                   f"validation samples were finite."
        return (f"Even the weights {self.good.when} give non-finite outputs on validation "
                f"samples: check the data for NaN or infinite values.")

    def _stop_asked(self, stage) -> bool:
        """Whether to stop before the next step (after waiting out a pause). Under torchrun
        the processes agree on it (a collective, so a host read) only where they read the
        losses anyway: before every `read_every`-th step."""
        if self.dist.active and self.step % self.read_every:
            return False
        return self.dist.any(self._should_stop(stage))

    def _should_stop(self, stage) -> bool:
        if not self.control.paused:
            return self.control.wait()
        if not self.dist.active:
            self._read(stage)        # a paused run's history is complete up to its last step
        t = time.perf_counter()
        stop = self.control.wait()
        self.paused_s += time.perf_counter() - t
        return stop

    def _batch(self, stage, xb, yb, predicted, info: StepInfo) -> None:
        """One step; its loss is read later, with others (engine.run.pending)."""
        step = info.step
        self._hook(stage, "on_batch_start", step)
        with self.mixed.autocast():
            loss, out = stage.loss(xb, yb)
        stage.optimizer.zero_grad(set_to_none=True)
        self.mixed.backward(loss, stage.optimizer,
                            self.probe.backward_for(step) if self.probe else None)
        self._hook(stage, "on_after_backward", step)
        norm = None
        if stage.config.grad_clip:
            norm = torch.nn.utils.clip_grad_norm_(stage.params, stage.config.grad_clip)
            if self.mixed.skips_bad_steps:
                norm = None          # the fp16 loss scaler skips steps whose gradients overflow
        if not self.mixed.step(stage.optimizer):
            self.skipped += 1
        self.step = step
        if predicted is not None:
            stage.predict(out, predicted)
        self.pending.add(loss.detach(), norm, info)
        if self._read_due(step):
            self._read(stage)
        elif self.dist.active and self.probe is not None and self.probe.pending:
            self.probe.fetch(self.run)  # off the shared schedule (torchrun): this process only

    def _read_due(self, step: int) -> bool:
        """Whether to read the pending steps after `step`: when the probe asks (engine.run.
        probe_callback.READ_AFTER probes pending; in fp16 every probe), and at most every
        LIVE_S seconds while someone watches the steps or the probes. Under torchrun every
        process must read on the same steps (the read averages the losses across them): every
        `read_every`-th."""
        if self.dist.active:
            return (step - 1) % self.read_every == 0
        probe = self.probe
        if probe is not None and probe.pending and probe.must_read:
            return True
        watched = self.dispatch.wants(StepEvent) or \
            probe is not None and probe.pending and self.dispatch.wants(ProbeEvent)
        return watched and time.perf_counter() - self.last_read >= LIVE_S

    def _read(self, stage) -> None:
        """Read the pending steps' losses (with the pending probes' statistics) in one
        transfer; record them, emit their events, and stop at the first that diverged."""
        losses, norms, infos = self.pending.take()
        probe = self.probe if self.probe is not None and self.probe.pending else None
        parts = [self.dist.mean(losses)] if losses is not None else []
        parts += [norms] if norms is not None else []
        parts += probe.vectors() if probe is not None else []
        read = (parts[0] if len(parts) == 1 else torch.cat(parts)).numpy(force=True) \
            if parts else np.empty(0, np.float32)
        self.last_read = time.perf_counter()
        n = len(infos)
        checked = 2 * n if norms is not None else n
        bad = n if np.isfinite(read[:checked]).all() else \
            first_bad(read[:checked].tolist(), n, norms is not None)
        good, done = infos[:bad], read[:bad].tolist()
        self.loss_sum += sum(v * info.samples for v, info in zip(done, good))
        stage.steps_done(good, read[:bad])
        probes = probe.finish(self.run, read[checked:],
                              infos[bad].step - 1 if bad < n else math.inf) if probe else []
        self._step_events(stage, good, done, probes)
        if bad < n:
            loss = float(read[bad])
            what, value = ("loss", loss) if not math.isfinite(loss) else \
                ("gradient norm", float(read[n + bad]))
            self._diverged(stage, infos[bad], what, value)

    def _step_events(self, stage, infos: list, losses: list, probes: list) -> None:
        """The StepEvents of read steps, in order, with the ProbeEvents of their probes, each
        before its step's."""
        if not self.dispatch.wants(StepEvent):
            for event in probes:
                self.dispatch.emit(event)
            return
        probes.reverse()            # popped from the end, in step order
        for info, value in zip(infos, losses):
            while probes and probes[-1].step <= info.step:
                self.dispatch.emit(probes.pop())
            self.dispatch.emit(StepEvent(info.step, info.epoch + 1, info.batch + 1,
                                         info.batches, value, info.lr, info.samples,
                                         stage.index))
        while probes:
            self.dispatch.emit(probes.pop())

    def _diverged(self, stage, info: StepInfo, what: str, value: float) -> None:
        """Raise Diverged for step `info.step`: the run ends after the step before it."""
        self.step = info.step - 1
        if what == "loss" and self.dist.any(not self._batch_finite(stage, info)):
            raise Diverged(f"the training data has NaN or infinite input values (in the batch "
                           f"of step {info.step}, epoch {info.epoch + 1}), so the loss became "
                           f"{value}: clean or drop those samples.")
        raise Diverged(stage.diverged(what, value, info.step, info.epoch))

    def _batch_finite(self, stage, info: StepInfo) -> bool:
        """Whether the inputs of the batch of step `info` (of the current epoch) are finite."""
        size = stage.config.batch_size
        idx = self.order[info.batch * size:(info.batch + 1) * size]
        return bool(torch.isfinite(self.inputs.train_batch(idx)).all())

    def _hook(self, stage, hook: str, step: int) -> None:
        """A per-batch hook: every callback's in training, only the probes' in pre-training."""
        if stage.index == 0:
            self.dispatch.call(hook, step)
        elif self.probe is not None:
            getattr(self.probe, hook)(self.run, step)

    @torch.no_grad()
    def validate(self, loss_of, correct_of=None):
        """Sums over this process's part of the validation data: (loss, right answers), on
        the device. `loss_of(x, y)` -> (batch-mean loss, output)."""
        loss = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device)
        finite = torch.ones((), dtype=torch.bool, device=self.device)
        part = self.dist.val_slice(self.inputs.n_val)
        with self.inputs.val_batches(part, VAL_BATCH) as batches:
            for x, y in batches:
                with self.mixed.autocast():
                    value, out = loss_of(x, y)
                loss += value * len(x)
                finite &= torch.isfinite(out).all()
                if correct_of is not None:
                    correct += correct_of(out, y)
        self.val_finite = finite
        return loss, correct


def _allocation_failed(exc: RuntimeError) -> bool:
    """A CPU allocation failure (torch raises a plain RuntimeError for it, not OutOfMemoryError)."""
    text = str(exc)
    return "can't allocate memory" in text or "not enough memory" in text
