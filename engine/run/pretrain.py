"""Greedy layer-wise pre-training, supervised or unsupervised (autoencoders).

All blocks but the output block are pre-trained in order; the blocks before the one training are
frozen (no gradient, evaluation mode). Supervised: the block is the hidden layer of a depth-two
network whose temporary output layer predicts the real targets. Unsupervised: the block is the
encoder of an autoencoder reconstructing its own input (the frozen blocks' output), with
binary cross-entropy through a sigmoid when those inputs lie in [0, 1] and MSE otherwise,
optional masking noise (denoising) and optional tied weights. Temporary layers are discarded;
`result.model` keeps the original spec, ready for `engine.train` (fine-tuning), and
`engine.train(result, ...)` carries the stages into the run's history.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from engine.data import load_dataset
from engine.errors import TrainingError
from engine.run.events import Control, Dispatcher, EpochEvent, FailedEvent, FinishedEvent, StageEvent, \
    StepEvent
from engine.run.history import new_history
from engine.network.model import Model
from engine.run.objective import make_objective
from engine.run.optim import make_optimizer
from engine.run.pretrain_parts import Block, Decoder, Head, chain_blocks, corrupt, reconstruction_loss, \
    unit_interval
from engine.run.config import TrainConfig
from engine.run.setup import resolve_device, resolve_network, to_device
from engine.run.loop import epoch_order

MODES = ("supervised", "unsupervised")


@dataclass
class Pretrained:
    """The pre-trained model (original spec), its history (`stages`), and how it ended."""
    model: Model
    history: dict
    config: dict = field(default_factory=dict)
    status: str = "new"
    message: str = ""


def pretrain(network, dataset, mode: str = "unsupervised", epochs: int = 3,
             lr: float | None = None, optimizer: str = "adam", batch_size: int = 64,
             noise: float = 0.25, tied: bool = False, seed: int = 0, device: str = "auto",
             val_fraction: float = 0.1, callbacks=(), control: Control | None = None
             ) -> Pretrained:
    """Pre-train every hidden block of a chain network; see the module docstring."""
    if mode not in MODES:
        raise TrainingError(f"pre-training mode must be supervised or unsupervised, not {mode!r}")
    if not 0.0 <= noise < 1.0:
        raise TrainingError(f"noise must be at least 0 and below 1 (a fraction of inputs "
                            f"masked), not {noise!r}")
    cfg = TrainConfig(epochs=epochs, lr=lr, optimizer=optimizer, batch_size=batch_size,
                      seed=seed, device=device, val_fraction=val_fraction, probe_every=0)
    start = resolve_network(network, seed)
    model = start.model.to(resolve_device(device))
    prefix, blocks = chain_blocks(model)
    data = load_dataset(dataset).fit_input(model.input_shape)
    objective = make_objective(model, data, "auto")
    settings = {"mode": mode, "epochs": epochs, "lr": cfg.learning_rate, "optimizer": optimizer,
                "batch_size": batch_size, "noise": noise if mode == "unsupervised" else 0.0,
                "tied": tied if mode == "unsupervised" else False, "seed": seed}
    result = Pretrained(model, new_history(), settings)
    stager = _Stages(result, cfg, data, objective, prefix, blocks, list(callbacks),
                     control or Control())
    return stager.run(mode, noise, tied)


class _Stages:
    def __init__(self, result, cfg, data, objective, prefix, blocks, callbacks, control):
        self.result, self.cfg, self.objective = result, cfg, objective
        self.model: Model = result.model
        self.prefix, self.blocks, self.control = prefix, blocks, control
        self.device = next(self.model.parameters()).device
        train_idx, val_idx = data.split(cfg.val_fraction, cfg.seed)
        self.x, self.y = (to_device(data.x[train_idx], self.device),
                          to_device(data.y[train_idx], self.device))
        self.vx, self.vy = (to_device(data.x[val_idx], self.device),
                            to_device(data.y[val_idx], self.device))
        self.n_out = data.n_classes if data.n_classes else math.prod(data.target_shape)
        self.dispatch = Dispatcher(callbacks, result)
        self.step = 0

    def run(self, mode: str, noise: float, tied: bool) -> Pretrained:
        t0 = time.perf_counter()
        hidden = self.blocks[:-1]
        try:
            for block in hidden:
                if not self._stage(block, len(hidden), mode, noise, tied):
                    return self._end("stopped", t0)
            return self._end("finished", t0)
        except torch.OutOfMemoryError:
            self._fail(f"the device ran out of memory while pre-training: lower the batch size "
                       f"(now {self.cfg.batch_size})", t0)
        finally:
            for p in self.model.parameters():
                p.requires_grad_(True)
            self.model.train()

    # ------------------------------------------------------------------ one stage
    def _stage(self, block: Block, total: int, mode: str, noise: float, tied: bool) -> bool:
        t0 = time.perf_counter()
        layers = [self.model.layers[n] for n in block.nodes]
        encoder = layers[0]
        if mode == "supervised":
            extra, bce = Head(block.out_shape, self.n_out).to(self.device), None
        else:
            extra = Decoder(encoder, block, self.model.analysis.shapes, tied).to(self.device)
            bce = unit_interval(self._features(block, self.x))
        record = {"stage": block.index, "of": total, "mode": mode, "node": block.weighted,
                  "layer": self.model.label(block.weighted), "nodes": block.nodes,
                  "loss_name": self.objective.name if mode == "supervised"
                  else ("bce" if bce else "mse"),
                  "settings": dict(self.result.config),
                  "loss": [], "val_loss": [], "seconds": 0.0,
                  "initial_val_loss": self._val_loss(block, layers, extra, bce)}
        self.result.history["stages"].append(record)
        kind = "autoencoder" if mode == "unsupervised" else "supervised"
        self.dispatch.emit(StageEvent(block.index, f"pre-training {record['layer']} "
                                                   f"({block.index} of {total}, {kind})", record))
        self._freeze(block)
        params = [p for m in layers for p in m.parameters()] + list(extra.parameters())
        opt = make_optimizer(self.cfg, params)
        for epoch in range(self.cfg.epochs):
            loss = self._epoch(block, layers, extra, opt, epoch, bce, noise)
            if loss is None:
                record["seconds"] = time.perf_counter() - t0
                return False
            record["loss"].append(loss)
            record["val_loss"].append(self._val_loss(block, layers, extra, bce))
            self.dispatch.emit(EpochEvent(epoch + 1, {"stage": block.index, "epoch": epoch + 1,
                                                      "loss": loss,
                                                      "val_loss": record["val_loss"][-1]}))
        record["seconds"] = time.perf_counter() - t0
        return True

    def _freeze(self, block: Block) -> None:
        """Everything but this block: no gradient, evaluation mode (dropout, batch-norm stats)."""
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.model.eval()
        for n in block.nodes:
            self.model.layers[n].train()
            for p in self.model.layers[n].parameters():
                p.requires_grad_(True)

    def _epoch(self, block, layers, extra, opt, epoch, bce, noise) -> float | None:
        torch.manual_seed(epoch + 1000 * block.index + self.cfg.seed)
        order = epoch_order(len(self.x), self.cfg.seed, epoch, self.device)
        bs, total = self.cfg.batch_size, torch.zeros((), device=self.device)
        for b in range(math.ceil(len(self.x) / bs)):
            if self.control.wait():
                return None
            idx = order[b * bs:(b + 1) * bs]
            loss = self._loss(block, layers, extra, self.x[idx], self.y[idx], bce, noise)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            self.step += 1
            total += loss.detach() * len(idx)
            value = float(loss.detach()) if self.step % 10 == 0 else math.nan
            self.dispatch.emit(StepEvent(self.step, epoch + 1, b + 1,
                                         math.ceil(len(self.x) / bs), value, opt.param_groups[0]
                                         ["lr"], len(idx)))
        mean = float(total) / len(self.x)
        if not math.isfinite(mean):
            raise TrainingError(f"the pre-training loss of {self.model.label(block.weighted)} "
                                f"became {mean}: try a lower learning rate")
        return mean

    def _loss(self, block, layers, extra, x, y, bce, noise):
        h = self._features(block, x)
        if bce is None:                             # supervised
            out = extra(_run(layers, h))
            return self.objective.loss(out.reshape(len(x), *self.model.output_shape), y)
        target = h
        logits = extra(_run(layers, corrupt(h, noise)))
        return reconstruction_loss(logits, target, bce)

    @torch.no_grad()
    def _features(self, block: Block, x: torch.Tensor) -> torch.Tensor:
        """The output of the frozen layers before `block` (the block's input)."""
        h = x
        for n in self.prefix:
            h = self.model.layers[n](h)
        for earlier in self.blocks[:block.index - 1]:
            h = _run([self.model.layers[n] for n in earlier.nodes], h)
        return h

    @torch.no_grad()
    def _val_loss(self, block, layers, extra, bce) -> float | None:
        if not len(self.vx):
            return None
        for m in layers:
            m.eval()
        try:
            total = 0.0
            for i in range(0, len(self.vx), 1024):
                x, y = self.vx[i:i + 1024], self.vy[i:i + 1024]
                total += float(self._loss(block, layers, extra, x, y, bce, 0.0)) * len(x)
            return total / len(self.vx)
        finally:
            for m in layers:
                m.train()

    # ------------------------------------------------------------------ endings
    def _end(self, status: str, t0: float) -> Pretrained:
        seconds = time.perf_counter() - t0
        self.result.status = status
        self.result.message = "" if status == "finished" else "stopped on request"
        self.dispatch.emit(FinishedEvent(status, self.step, len(self.result.history["stages"]),
                                         seconds))
        return self.result

    def _fail(self, message: str, t0: float) -> None:
        self.result.status, self.result.message = "failed", message
        error = TrainingError(message)
        error.run = self.result
        self.dispatch.emit(FailedEvent(message, self.step, error))
        raise error


def _run(layers, h):
    for m in layers:
        h = m(h)
    return h
