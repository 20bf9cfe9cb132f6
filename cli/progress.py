"""Terminal reporting for long commands: a one-line progress bar on stderr (only on a terminal,
at most 10 redraws a second) and plain tables."""
from __future__ import annotations

import sys
import time

from engine import Callback, EpochEvent, StepEvent


def is_terminal(stream=None) -> bool:
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", None) and stream.isatty())


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ProgressBar(Callback):
    """`epoch 2/3 [#########-----] 95/141  loss 0.2134  val acc 96.4%  2,310 samples/s  ETA 0:04`.

    The loss is the running mean of the epoch so far; the accuracy is the last finished epoch's
    validation accuracy (training accuracy is only counted at epoch ends, on the device).
    Under torchrun, `processes` scales the rate to samples/s over all processes."""

    WIDTH = 24

    def __init__(self, epochs: int, first_epoch: int = 0, stream=None, every_s: float = 0.1,
                 processes: int = 1):
        self.stream = stream or sys.stderr
        self.epochs, self.first = epochs, first_epoch
        self.every_s, self.processes = every_s, processes
        self.t0 = self.last_draw = 0.0
        self.samples = 0
        self.loss_sum = self.loss_n = 0.0
        self.acc: tuple[str, float] | None = None      # (which accuracy, value)

    def on_train_start(self, run) -> None:
        self.t0 = time.perf_counter()

    def on_epoch_start(self, run, epoch: int) -> None:
        self.loss_sum = self.loss_n = 0.0

    def on_step(self, run, e: StepEvent) -> None:
        if e.stage:
            return                     # pre-training: its stages are announced by name
        self.samples += e.samples * self.processes
        self.loss_sum += e.loss * e.samples
        self.loss_n += e.samples
        now = time.perf_counter()
        if now - self.last_draw >= self.every_s or e.batch == e.batches:
            self.last_draw = now
            self._draw(e, now - self.t0)

    def on_epoch_end(self, run, e: EpochEvent) -> None:
        for key, name in (("val_acc", "val acc"), ("train_acc", "train acc")):
            if e.record.get(key) is not None:
                self.acc = (name, e.record[key])
                return

    def on_train_end(self, run) -> None:
        self.stream.write("\r\033[K")
        self.stream.flush()

    def _draw(self, e: StepEvent, elapsed: float) -> None:
        done = e.batch / e.batches
        filled = int(round(self.WIDTH * done))
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        rate = self.samples / elapsed if elapsed > 0 else 0.0
        epoch_index = e.epoch - self.first - 1
        left = (self.epochs - epoch_index - done) / max(epoch_index + done, 1e-9) * elapsed
        acc = f"  {self.acc[0]} {self.acc[1]:.1%}" if self.acc is not None else ""
        text = (f"\repoch {e.epoch - self.first}/{self.epochs} [{bar}] {e.batch}/{e.batches}  "
                f"loss {self.loss_sum / max(self.loss_n, 1):.4f}{acc}  {rate:,.0f} samples/s  "
                f"ETA {duration(left)}")
        self.stream.write(text + "\033[K")
        self.stream.flush()


def printable(text: str) -> str:
    """Text from a file (a network's name, a description, a label) made safe for a terminal:
    control and format characters, terminal escape sequences and lone surrogates are shown as
    their escapes (\\x1b, \\u202e, \\ud800) instead of acting on the terminal."""
    import unicodedata
    return "".join(ascii(c)[1:-1] if unicodedata.category(c)[0] == "C" else c for c in text)


def table(rows: list[tuple[str, ...]], right: tuple[int, ...] = ()) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.rjust(w) if i in right else c.ljust(w)
                             for i, (c, w) in enumerate(zip(row, widths))).rstrip()
            for row in rows]
