"""Periodic checkpoints of a long run, and what a resumed run still has to do.

`Checkpoints(path, every)` is a training callback: after every `every`-th epoch (counted over
the whole history, so a resumed run keeps the same cadence) it writes the run to `path` with
engine.save, which is atomic (a temporary file, then a rename): a crash leaves the previous
checkpoint whole. The file holds the weights, the optimizer state (with the loss scaler's of an
fp16 run), the config, the data set and the history, so `train --resume path` continues exactly
where it was written.
"""
from __future__ import annotations

from pathlib import Path

from engine.errors import TrainingError
from engine.run.events import Callback, EpochEvent
from engine.run.history import epochs_left

RUNNING = "running"


class Checkpoints(Callback):
    def __init__(self, path, every: int):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise TrainingError(f"checkpoints need a whole number of epochs of at least 1 "
                                f"between them, not {every!r}")
        self.path, self.every = Path(path), every
        self.written: list[int] = []

    def on_epoch_end(self, run, event: EpochEvent) -> None:
        if event.epoch % self.every:
            return
        status, message = run.history["status"], run.history["message"]
        run.history["status"] = RUNNING
        run.history["message"] = f"checkpoint after epoch {event.epoch}"
        try:
            run.save(self.path)
        finally:
            run.history["status"], run.history["message"] = status, message
        self.written.append(event.epoch)


def remaining_epochs(saved) -> int:
    """The epochs a checkpoint's run still had to train: the target of its last run (start
    epoch + epochs asked for) less the epochs done. A TrainingError when the file cannot be
    resumed (no weights, no optimizer state) or its run had already finished."""
    name = getattr(saved, "path", None) or "the file"
    if saved.model is None:
        raise TrainingError(f"cannot resume from '{name}': it has no weights (a network "
                            f"without training); train it without --resume")
    if saved.optimizer_state is None:
        raise TrainingError(f"cannot resume from '{name}': it has no optimizer state; pass it "
                            f"as FILE (without --resume) to continue with a new optimizer")
    history = saved.history or {}
    runs = history.get("runs") or []
    if not runs:
        raise TrainingError(f"cannot resume from '{name}': its history records no run")
    left = epochs_left(history)
    if left < 1:
        target = int(runs[-1].get("start_epoch", 0)) + int(runs[-1].get("epochs", 0))
        raise TrainingError(f"'{name}' already finished its run ({target} epochs); to train "
                            f"further pass --epochs N (N more epochs)")
    return left
