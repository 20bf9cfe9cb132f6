"""Multi-process training under torchrun: one small context object the training loop consults.

`torchrun --nproc_per_node=N main.py train ...` starts N processes with RANK, LOCAL_RANK,
WORLD_SIZE, MASTER_ADDR and MASTER_PORT in their environment. `launch()` reads them, joins the
process group (gloo on the CPU, NCCL on CUDA, each process on cuda:LOCAL_RANK) and returns a
`Distributed`; without them it returns `SINGLE`, a context whose methods do nothing, so the loop
has one code path. Every collective here is called on every rank at the same point of the loop
(once per step to agree on the loss and on stopping, once per epoch for the sums), so no rank
waits for a call that another rank skips.

Leaving the group must stop gloo's worker threads before the interpreter shuts down: a thread
that drops the last reference to a collective's tensor after that needs the GIL, cannot have it,
and aborts the process ("terminate called without an active exception", SIGABRT; a finished
run reported as failed). The threads stop only when the last reference to the group goes, so
`launch` lets go of every reference it can reach before destroying the group (see `_leave`).
"""
from __future__ import annotations

import contextlib
import gc
import os
import traceback
from dataclasses import dataclass

import torch

from engine.errors import TrainingError

ENV = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class Distributed:
    """This process's place in a run: rank (0 writes files and prints), world size, and the
    device it trains on. With world_size 1 every method is the identity."""
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device | None = None

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def global_batch(self, batch_size: int) -> int:
        return batch_size * self.world_size

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module to train: DistributedDataParallel (which also copies rank 0's weights
        to every rank) when distributed, the model itself otherwise."""
        if not self.active:
            return model
        from torch.nn.parallel import DistributedDataParallel
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def shard(self, order: torch.Tensor) -> torch.Tensor:
        """This rank's share of an epoch order: every world_size-th index from `rank`, after
        repeating the first few so every rank gets the same number (as DistributedSampler)."""
        if not self.active:
            return order
        pad = -len(order) % self.world_size
        if pad:
            order = torch.cat([order, order[:pad]])
        return order[self.rank::self.world_size]

    def val_slice(self, n: int) -> slice:
        """This rank's part of the n validation samples (no repeats: the sums are exact)."""
        return slice(self.rank * n // self.world_size, (self.rank + 1) * n // self.world_size)

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        """The mean of a tensor over the ranks (every rank gets the same value)."""
        if not self.active:
            return value
        value = value.detach().float().clone()
        torch.distributed.all_reduce(value)
        return value / self.world_size

    def sum(self, value: torch.Tensor) -> torch.Tensor:
        if not self.active:
            return value
        value = value.clone()
        torch.distributed.all_reduce(value)
        return value

    def any(self, flag: bool) -> bool:
        """True on every rank when it is true on one (stopping is agreed, never one-sided)."""
        if not self.active:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=self.device)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item())


SINGLE = Distributed()


def under_torchrun(environ=None) -> bool:
    environ = os.environ if environ is None else environ
    return "WORLD_SIZE" in environ and "RANK" in environ


@contextlib.contextmanager
def launch(device_name: str = "auto", environ=None):
    """Join the process group torchrun described (or do nothing outside torchrun); yield the
    context; leave the group however the block ends."""
    environ = os.environ if environ is None else environ
    if not under_torchrun(environ):
        yield SINGLE
        return
    ctx = _context(device_name, environ)
    import torch.distributed as dist
    import torch.distributed.nn  # noqa: F401 - imported before the group exists: see _leave
    backend = "nccl" if ctx.device.type == "cuda" else "gloo"
    if ctx.device.type == "cuda":
        torch.cuda.set_device(ctx.device)
    try:
        dist.init_process_group(backend, rank=ctx.rank, world_size=ctx.world_size)
    except Exception as exc:        # noqa: BLE001 - torch raises several kinds here
        raise TrainingError(f"could not join the torchrun process group ({backend} at "
                            f"{environ.get('MASTER_ADDR')}:{environ.get('MASTER_PORT')}): "
                            f"{exc}") from None
    try:
        yield ctx
    except BaseException as exc:
        _release_frames(exc)
        raise
    finally:
        _leave(dist)


def _leave(dist) -> None:
    """Destroy the process group so that its threads end now, not at interpreter exit. The
    group's C++ object (and its threads) lives while anything refers to it: a
    DistributedDataParallel left in a reference cycle (collected here), the frames of an
    exception (cleared by _release_frames), and torch.distributed.nn.functional, whose
    functions take `group=group.WORLD` as a default argument evaluated at import; `launch`
    imports it before the group exists, so the default it keeps is None."""
    gc.collect()
    dist.destroy_process_group()


def _release_frames(exc: BaseException) -> None:
    """Drop the local variables of the finished frames an exception (and its causes) carries,
    so that a model wrapped in DistributedDataParallel in one of them does not keep the
    process group alive; the traceback's files and lines stay for the report."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        traceback.clear_frames(exc.__traceback__)
        exc = exc.__cause__ or exc.__context__


def _context(device_name: str, environ) -> Distributed:
    try:
        rank, world = int(environ["RANK"]), int(environ["WORLD_SIZE"])
        local = int(environ.get("LOCAL_RANK", rank))
        local_world = int(environ.get("LOCAL_WORLD_SIZE", 1))
    except ValueError:
        raise TrainingError("RANK, LOCAL_RANK, LOCAL_WORLD_SIZE and WORLD_SIZE must be whole "
                            "numbers; start the run with torchrun, which sets them") from None
    missing = [k for k in ("MASTER_ADDR", "MASTER_PORT") if not environ.get(k)]
    if world > 1 and missing:
        raise TrainingError(f"{' and '.join(missing)} not set: start the run with torchrun "
                            f"(or set them to rank 0's address and a free port)")
    return Distributed(rank, world, local, _device(device_name, local, local_world))


def _device(name: str, local_rank: int, local_world: int = 1) -> torch.device:
    """Under torchrun each process takes cuda:LOCAL_RANK when training on CUDA. Too few GPUs
    for LOCAL_WORLD_SIZE processes is refused by every process alike (none of them starts)."""
    from engine.run.setup import resolve_device
    if name.startswith("cuda:"):
        raise TrainingError(f"--device {name}: under torchrun each process uses "
                            f"cuda:LOCAL_RANK; pass --device cuda (or auto)")
    if name == "mps":
        raise TrainingError("multi-process training runs on CUDA GPUs or the CPU, not on "
                            "mps; pass --device cpu")
    device = resolve_device("cuda" if name == "cuda" else name)
    if device.type == "mps":
        device = torch.device("cpu")
    if device.type != "cuda":
        return device
    count = torch.cuda.device_count()
    if max(local_rank + 1, local_world) > count:
        raise TrainingError(f"torchrun started {max(local_rank + 1, local_world)} processes "
                            f"on this machine, one per GPU, but it has {count} CUDA device(s); "
                            f"start at most {count} per node (--nproc_per_node) or pass "
                            f"--device cpu")
    return torch.device("cuda", local_rank)
