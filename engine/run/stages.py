"""The stages of a run on the one loop (engine.run.loop): greedy layer-wise pre-training of each
hidden block (`PretrainStage`), then training of the whole network (`FineTune`).

A stage says what is trained — its settings (a TrainConfig), its parameters and optimizer, its
loss — and where its numbers go: training appends to the history's epochs and steps; a
pre-training stage to its record in history["stages"] (per-epoch loss and validation loss, its
step count and its probes). The loop does the rest, the same for every stage.

Pre-training (Bengio et al. 2007; Vincent et al. 2008): every block but the output block, in
order, with the blocks before it frozen (no gradient, evaluation mode). Supervised: the block is
the hidden layer of a depth-two network whose temporary output layer predicts the targets.
Unsupervised: the block is the encoder of an autoencoder reconstructing its own input (the
frozen blocks' output), with binary cross-entropy through a sigmoid when those inputs lie in
[0, 1] and MSE otherwise, optional masking noise (denoising) and optional tied weights.
Temporary layers are discarded when the stage ends.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from engine.run.config import MAX_SEED, TrainConfig
from engine.run.events import EpochEvent, PhaseEvent, StageEpochEvent, StageEvent
from engine.run.history import append_steps, finished_epochs, last_step
from engine.network.transfer import network_signature
from engine.run.objective import ActivationL1
from engine.run.optim import lr_at, make_optimizer, restore, set_lr
from engine.run.pretrain_parts import Decoder, Head, chain_blocks, check_mirrored, corrupt, \
    reconstruction_loss, unit_interval


class _Stage:
    """What every stage has; the loop reads these attributes."""
    index = 0                  # 0: training; k: pre-training stage k
    predict = None             # classes predicted into a tensor (training), else None
    probe_log = None           # where probes are stored: None for the run's history

    def __init__(self, loop, config: TrainConfig):
        self.loop, self.config = loop, config
        self.params: list[torch.Tensor] = []
        self.optimizer: torch.optim.Optimizer | None = None
        self.first_step = self.first_epoch = 0
        self.end_epoch = config.epochs

    def lr_at(self, epoch: int) -> float:
        lr = lr_at(self.config, epoch, self.end_epoch)
        set_lr(self.optimizer, lr)
        return lr

    def state_finite(self) -> bool:
        """Whether the optimizer's running averages (momentum, Adam's moments...) are all
        finite: gradients too large for them overflow them to infinity while the loss and the
        weights stay finite, and such a state can be neither trained on nor saved."""
        state = [t for values in self.optimizer.state.values() for t in values.values()
                 if torch.is_tensor(t) and t.is_floating_point() and t.dim() > 0]
        return not state or bool(torch.stack(torch._foreach_norm(state)).isfinite().all())

    def state_overflowed(self, epoch: int) -> str:
        return (f"the {self.config.optimizer} optimizer's running averages of the gradients "
                f"overflowed to infinity during epoch {epoch + 1}{self.where}, so training "
                f"stopped: the gradients grew too large. Try a lower learning rate (now "
                f"{self.config.learning_rate:g}) or gradient clipping (grad_clip).")

    @property
    def where(self) -> str:
        return ""


class FineTune(_Stage):
    """Training the whole network on its objective (fine-tuning, after pre-training). A network
    that continues a run keeps counting its epochs and steps and restores its optimizer."""

    def __init__(self, loop, start, after_pretraining: bool = False):
        super().__init__(loop, loop.cfg)
        self.start, self.after_pretraining = start, after_pretraining
        self.predict = loop.objective.predict
        self.l1 = None

    def begin(self) -> None:
        loop, cfg, run = self.loop, self.config, self.loop.run
        if self.after_pretraining:
            loop.dispatch.emit(PhaseEvent("train", "fine-tuning"))
        self.net = loop.dist.wrap(loop.model)
        self.params = [p for p in loop.model.parameters() if p.requires_grad]
        self.optimizer = make_optimizer(cfg, self.params)
        saved = self.start.optimizer_state
        resumed = bool(saved) and restore(self.optimizer, list(loop.model.named_parameters()),
                                          saved, cfg.optimizer)
        run.optimizer = self.optimizer
        self.first_step = last_step(run.history)
        self.first_epoch = finished_epochs(run.history)
        self.end_epoch = self.first_epoch + cfg.epochs
        self.l1 = ActivationL1(loop.model, cfg.l1_activation) if cfg.l1_activation else None
        loop.record = {"start_step": self.first_step, "start_epoch": self.first_epoch,
                       "epochs": cfg.epochs, "device": str(loop.device),
                       "optimizer": cfg.optimizer,
                       "optimizer_state": "restored" if resumed else "new",
                       "precision": cfg.precision, "processes": loop.dist.world_size,
                       "batch_size": cfg.batch_size,
                       "global_batch": loop.dist.global_batch(cfg.batch_size),
                       "network": network_signature(loop.model.spec)}
        if loop.mixed.scaler is not None:
            loop.record["grad_scaler"] = "restored" if loop.scaler_resumed else "new"
        run.history["runs"].append(loop.record)

    def end(self) -> None:
        if self.l1 is not None:
            self.l1.remove()

    def loss(self, xb, yb):
        out = self.net(xb)
        loss = self.loop.objective.loss(out, yb)
        if self.l1 is not None:
            loss = loss + self.l1.penalty()
        return loss, out

    def _loss_and_out(self, x, y):
        """The loss of a validation batch, without the activation penalty, and the output."""
        out = self.loop.model(x)
        return self.loop.objective.loss(out, y), out

    def steps_done(self, infos: list, losses: np.ndarray) -> None:
        """Record steps read from the device: consecutive steps of one epoch
        (engine.run.pending.StepInfo each), and their losses."""
        if len(infos) == 1:         # probing every step: one row at a time, cheaply
            self.loop.run.history["steps"].append(
                {"step": infos[0].step, "epoch": infos[0].epoch + 1, "loss": float(losses[0])})
        elif infos:
            first, k = infos[0].step, len(infos)
            append_steps(self.loop.run.history, np.arange(first, first + k),
                         np.full(k, infos[0].epoch + 1), losses)

    def epoch_end(self, epoch: int, lr: float, loss_sum: float, samples: int, correct,
                  seconds: float) -> None:
        loop, model, objective = self.loop, self.loop.model, self.loop.objective
        dist = loop.dist
        n, nv = samples * dist.world_size, loop.inputs.n_val   # n counts a shard's repeats
        model.eval()
        try:
            val_loss, val_correct = loop.validate(self._loss_and_out, objective.correct)
        finally:
            model.train()
        bad = (~loop.val_finite).float()       # the outputs' finiteness, in the same read
        train_correct, val_loss, val_correct, bad = dist.sum(torch.stack(
            [correct.float(), val_loss.float(), val_correct.float(), bad])).tolist()
        if nv:
            loop.outputs_checked = not bad      # spares the loop a forward pass to check
        classes = objective.correct is not None
        record = {"epoch": epoch + 1, "train_loss": loss_sum / samples,
                  "train_acc": train_correct / n if classes else None,
                  "val_loss": val_loss / nv if nv else None,
                  "val_acc": val_correct / nv if nv and classes else None,
                  "lr": lr, "seconds": seconds}
        loop.run.history["epochs"].append(record)
        loop.dispatch.emit(EpochEvent(epoch + 1, record))

    def diverged(self, what: str, value: float, step: int, epoch: int) -> str:
        return (f"the {what} became {value} at step {step} (epoch {epoch + 1}), so training "
                f"stopped. Try a lower learning rate (now {self.config.learning_rate:g}), gradient clipping "
                f"(grad_clip), or another initialisation.")


def pretrain_stages(loop, pretrain) -> list["PretrainStage"]:
    """One stage per hidden block of the loop's (chain) network, with `pretrain`'s settings."""
    prefix, blocks = chain_blocks(loop.model)
    hidden = blocks[:-1]
    if pretrain.mode == "unsupervised":
        check_mirrored(loop.model.spec, hidden)
    return [PretrainStage(loop, pretrain, stage_config(loop.cfg, pretrain, block.index), block,
                          len(hidden)) for block in hidden]


def stage_config(train: TrainConfig, pretrain, index: int) -> TrainConfig:
    """The loop settings of pre-training stage `index`: the pre-training optimizer, rate,
    batch size and epochs; the run's device, precision, clipping, probes and validation split;
    a seed of its own for the stage's data order and masking noise; a constant rate."""
    return TrainConfig(epochs=pretrain.epochs, batch_size=pretrain.batch_size or train.batch_size,
                       optimizer=pretrain.optimizer, lr=pretrain.lr, momentum=train.momentum,
                       loss=train.loss, grad_clip=train.grad_clip, device=train.device,
                       seed=(train.seed + 1000 * index) % (MAX_SEED + 1),
                       probe_every=train.probe_every, val_fraction=train.val_fraction,
                       precision=train.precision)


class PretrainStage(_Stage):
    """One block pre-trained with a temporary head (supervised) or decoder (unsupervised)."""

    def __init__(self, loop, pretrain, config: TrainConfig, block, total: int):
        super().__init__(loop, config)
        self.pre, self.block, self.total = pretrain, block, total
        self.index = block.index
        model = loop.model
        position = model.order.index(block.nodes[0])
        self.frozen_end = model.order[position - 1] if position else None
        self.layers = [model.layers[n] for n in block.nodes]
        self.extra = None
        self.bce: bool | None = None
        self.record: dict = {}

    @property
    def supervised(self) -> bool:
        return self.pre.mode == "supervised"

    # ------------------------------------------------------------------ begin and end
    def begin(self) -> None:
        loop, model, block = self.loop, self.loop.model, self.block
        if self.index == 1:
            loop.dispatch.emit(PhaseEvent("pretrain", f"{self.pre.mode} pre-training"))
        torch.manual_seed(self.config.seed)      # the temporary layer's initial weights
        if self.supervised:
            data = loop.data
            n_out = data.n_classes if data.n_classes else math.prod(data.target_shape)
            self.extra = Head(block.out_shape, n_out).to(loop.device)
        else:
            self.extra = Decoder(self.layers[0], block, model.analysis.shapes,
                                 self.pre.tied).to(loop.device)
            self.bce = self._inputs_in_unit_interval()
        self._freeze()
        self.params = [p for m in self.layers for p in m.parameters()] + \
            list(self.extra.parameters())
        self.optimizer = make_optimizer(self.config, self.params)
        self.record = self._new_record()
        self.probe_log = self.record
        loop.run.history["stages"].append(self.record)
        kind = "supervised" if self.supervised else "autoencoder"
        loop.dispatch.emit(StageEvent(self.index, f"pre-training {self.record['layer']} "
                                                  f"({self.index} of {self.total}, {kind})",
                                      self.record))

    def _new_record(self) -> dict:
        cfg, pre = self.config, self.pre
        unsupervised = not self.supervised
        settings = {"mode": pre.mode, "epochs": pre.epochs, "optimizer": cfg.optimizer,
                    "lr": cfg.learning_rate, "batch_size": cfg.batch_size,
                    "noise": pre.noise if unsupervised else 0.0,
                    "tied": pre.tied if unsupervised else False, "seed": cfg.seed}
        return {"stage": self.index, "of": self.total, "mode": pre.mode,
                "node": self.block.weighted, "layer": self.loop.model.label(self.block.weighted),
                "nodes": list(self.block.nodes),
                "loss_name": self.loop.objective.name if self.supervised
                else ("bce" if self.bce else "mse"),
                "settings": settings, "loss": [], "val_loss": [], "seconds": 0.0, "steps": 0,
                "probes": {"step": [], "layers": {}},
                "initial_val_loss": self._val_loss()}

    def _freeze(self) -> None:
        """Everything but this block: no gradient, evaluation mode (dropout, batch-norm stats);
        no gradient left over from an earlier stage either."""
        model = self.loop.model
        for p in model.parameters():
            p.requires_grad_(False)
            p.grad = None
        model.eval()
        for m in self.layers:
            m.train()
            for p in m.parameters():
                p.requires_grad_(True)

    def end(self) -> None:
        model = self.loop.model
        for p in model.parameters():
            p.requires_grad_(True)
            p.grad = None
        model.train()
        self.extra = None

    # ------------------------------------------------------------------ steps and epochs
    def loss(self, xb, yb):
        return self._loss(xb, yb, self.pre.noise)

    def _loss(self, xb, yb, noise: float):
        model, h = self.loop.model, self._features(xb)
        if self.supervised:
            out = self.extra(model.forward_chain(h, self.block.nodes))
            return self.loop.objective.loss(out.reshape(len(xb), *model.output_shape), yb), out
        logits = self.extra(model.forward_chain(corrupt(h, noise), self.block.nodes))
        return reconstruction_loss(logits, h, self.bce), logits

    @torch.no_grad()
    def _features(self, x: torch.Tensor) -> torch.Tensor:
        """The output of the frozen layers before the block (the block's input)."""
        return x if self.frozen_end is None else self.loop.model(x, until=self.frozen_end)

    def _inputs_in_unit_interval(self) -> bool:
        with self.loop.inputs.train_chunks(1024) as chunks:
            return all(unit_interval(self._features(x)) for x in chunks)

    def steps_done(self, infos: list, losses: np.ndarray) -> None:
        if infos:
            self.record["steps"] = infos[-1].step

    def epoch_end(self, epoch: int, lr: float, loss_sum: float, samples: int, correct,
                  seconds: float) -> None:
        mean = loss_sum / samples
        val = self._val_loss()
        self.record["loss"].append(mean)
        self.record["val_loss"].append(val)
        self.record["seconds"] += seconds
        self.loop.dispatch.emit(StageEpochEvent(self.index, epoch + 1, mean, val))

    def _val_loss(self) -> float | None:
        loop = self.loop
        if not loop.inputs.n_val:
            return None
        for m in self.layers:
            m.eval()
        try:
            total, _ = loop.validate(lambda x, y: self._loss(x, y, 0.0))
            return float(total) / loop.inputs.n_val
        finally:
            for m in self.layers:
                m.train()

    @property
    def where(self) -> str:
        return f" of pre-training stage {self.index}"

    def diverged(self, what: str, value: float, step: int, epoch: int) -> str:
        return (f"the pre-training {what} of {self.record.get('layer', 'a block')} became "
                f"{value} at step {step} of stage {self.index} (epoch {epoch + 1}), so "
                f"pre-training stopped. Try a lower pre-training learning rate (now "
                f"{self.config.learning_rate:g}) or gradient clipping (grad_clip).")
