"""`train FILE ...`: train a network headless, with a progress bar, a final table, a .lwnet
with weights, config, history and optimizer state (-o), and metrics as JSON or CSV.

A file that already holds weights continues where it stopped (history appended, optimizer state
restored) unless --fresh. Ctrl+C stops at the end of the batch and still writes the outputs.
--epochs always counts the epochs to train now; --resume CHECKPOINT without --epochs trains the
epochs its interrupted run had left. Under torchrun every process trains (engine.run.distributed);
only rank 0 prints and writes files.
"""
from __future__ import annotations

import argparse

import contextlib
import csv
import io
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from cli import settings
from cli.progress import ProgressBar, duration, is_terminal, printable, table
from engine import LayerwiseError, TrainingError

INTERRUPTED = 130
RANK_0_WAIT_S = 60.0    # how long the other processes wait for rank 0 to report a shared error


def register(sub) -> None:
    p = sub.add_parser("train", help="train a network on a data set",
                       description="Train the network in FILE (.lwnet or network.json). A "
                                   "file with weights continues where it stopped unless "
                                   "--fresh. Ctrl+C stops cleanly and still writes -o and "
                                   "--metrics. Under `torchrun --nproc_per_node=N main.py "
                                   "train ...` N processes train together (DDP); only rank 0 "
                                   "prints and writes files.")
    p.add_argument("file", metavar="FILE", nargs="?",
                   help="a .lwnet file or a network.json (optional with --resume)")
    p.add_argument("--dataset", metavar="D", help="a data set name (see `datasets`) or a path "
                   "to a .csv, .npz, IDX file or image folder; default: the one in FILE")
    p.add_argument("--data-option", metavar="KEY=VALUE", action="append", default=[],
                   type=_option_pair,
                   help="an option of the data set or of your file, e.g. noise=0.2 or "
                        "label=species (repeatable; `datasets` lists them all)")
    settings.add_flags(p)
    p.add_argument("--fresh", action="store_true",
                   help="start from new weights even if FILE has some")
    p.add_argument("--resume", metavar="CHECKPOINT", help="continue the run saved in "
                   "CHECKPOINT (a .lwnet from --checkpoint-every or -o): weights, optimizer state, "
                   "history and epoch (an epoch cut short by Ctrl+C is trained again from "
                   "its start); its data set and settings apply unless given again")
    p.add_argument("--checkpoint-every", type=settings.at_least_one("epochs"), metavar="N",
                   help="every N epochs (counted "
                   "from the first epoch of the history), save the run to --checkpoint, "
                   "atomically, replacing the previous checkpoint")
    p.add_argument("--checkpoint", metavar="PATH.lwnet", help="where --checkpoint-every writes "
                   "(default: OUT.checkpoint.lwnet next to -o)")
    p.add_argument("-o", "--output", metavar="OUT.lwnet", help="write the trained network here")
    p.add_argument("--metrics", metavar="OUT.json|.csv", help="write the history here")
    p.set_defaults(run=run)


def run(args) -> int:
    """Under torchrun an error that every process meets alike is said once, by rank 0: one
    before training (the same arguments, files and data), or the run's own failure (the loss
    each process checks is the same, agreed across them). See rank_0_reports."""
    try:
        return _run(args)
    except TrainingError as exc:
        if getattr(exc, "run", None) is None or not rank_0_reports(1):
            raise
        return 1


def _run(args) -> int:
    import engine
    with contextlib.ExitStack() as stack:
        try:
            saved, resume, recipe, dataset = _prepared(engine, args)
            dist = stack.enter_context(engine.launch(recipe.train.device))
        except LayerwiseError:
            if rank_0_reports(1):
                return 1
            raise
        control = engine.Control()
        restore = _stop_on_ctrl_c(control)
        try:
            _say(dist, _header(saved, dataset, recipe, resume, dist))
            network = saved if resume else saved.spec
            return _train(engine, args, network, saved.spec, dataset, recipe, resume, control,
                          dist)
        finally:
            restore()


def _prepared(engine, args):
    """Everything checked before any process group or training: the outputs, the file, the
    settings and the data set. Returns (file, continues a run, recipe, data set)."""
    _check_outputs(engine, args)
    saved, resume = _source(engine, args)
    recipe = _recipe(engine, args, saved, resume)
    return saved, resume, recipe, _fitted(_dataset(recipe.data), saved.spec)


def _rank() -> int:
    """This process's rank under torchrun (0 outside it), known before the group is joined."""
    try:
        return int(os.environ.get("RANK", "0")) if "WORLD_SIZE" in os.environ else 0
    except ValueError:
        return 0


def rank_0_reports(code: int) -> bool:
    """For an error every process of a torchrun run meets alike, before training (the same
    arguments, files and data): whether rank 0 says it, so that this process ends with `code`
    and says nothing. torchrun stops every process as soon as one ends, which could stop rank 0
    before it has printed; so the others wait for that stop (SIGTERM: rank 0 has ended) and
    then exit with `code`. If it does not come within RANK_0_WAIT_S (rank 0 did not meet this
    error), False: this process reports the error itself."""
    if _rank() == 0:
        return False
    if code == 0 or "TORCHELASTIC_RUN_ID" not in os.environ or \
            threading.current_thread() is not threading.main_thread():
        return True      # torchrun stops nobody for a success; without its agent, nobody at all

    def stopped(signum, frame):
        raise SystemExit(code)
    previous = signal.signal(signal.SIGTERM, stopped)
    try:
        time.sleep(RANK_0_WAIT_S)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return False


def _shapes(engine, spec) -> tuple:
    """(input shape, output shape) of a network, None where its analysis cannot tell."""
    analysis = engine.analyze(spec)
    return analysis.shapes.get(analysis.input_id) if analysis.input_id else None, \
        analysis.output_shape


def _recipe(engine, args, saved, resume: bool):
    """The file's recipe (the defaults for a bare network) with the flags given. Continuing a
    run trains on: its pre-training is in its history, and asking for more is refused.
    --resume without --epochs trains the epochs its run had left."""
    flags = settings.given(args)
    if resume and flags["pretrain"].get("mode", "none") != "none":
        raise LayerwiseError(f"'{saved.path}' already has trained weights; pre-training starts "
                             f"from new ones: add --fresh")
    # a bare network: the defaults, learning its inputs if it gives back their shape (its data
    # set is given with --dataset, never guessed)
    base = saved.recipe or engine.Recipe(train=engine.Recipe.suggested(
        *_shapes(engine, saved.spec)).train)
    if resume:
        base = base.with_settings(pretrain={"mode": "none"})
    if args.resume and "epochs" not in flags["train"]:
        flags["train"]["epochs"] = engine.remaining_epochs(saved)
    return settings.merged(base, flags, _data_ref(engine, args, base.data))


def _data_ref(engine, args, recorded):
    options = dict(args.data_option)
    if args.dataset:
        return engine.DataRef(args.dataset, options)
    if recorded.name:
        return engine.DataRef(recorded.name, {**recorded.options, **options})
    raise LayerwiseError("no data set given and none recorded in the file: pass --dataset "
                         "NAME (`datasets` lists them) or a path to your own data")


def _source(engine, args):
    """The file to train and whether it continues a run: FILE, or the --resume checkpoint
    (FILE, when given too, must hold the same network)."""
    if not args.resume:
        if not args.file:
            raise LayerwiseError("train needs FILE (a .lwnet or network.json), or --resume "
                                 "CHECKPOINT to continue a run")
        saved = engine.load(args.file)
        return saved, saved.model is not None and not args.fresh
    if args.fresh:
        raise LayerwiseError("--resume continues a run and --fresh starts a new one: pass one "
                             "of them")
    saved = engine.load(args.resume)
    if args.file and not _same_network(engine.load(args.file).spec, saved.spec):
        raise LayerwiseError(f"'{args.file}' and the checkpoint '{args.resume}' hold different "
                             f"networks: pass only --resume {args.resume}")
    return saved, True


def _same_network(a, b) -> bool:
    def shape(spec):
        d = spec.to_dict()
        return [(n["id"], n["kind"], n["params"]) for n in d["nodes"]], d["edges"]
    return shape(a) == shape(b)


def _say(dist, text: str) -> None:
    if dist.is_main:
        print(text, flush=True)


def _check_outputs(engine, args) -> None:
    """Every output is checked before the run starts, so that a run is never lost for want of
    a place to write it (engine.check_output: folders, special files, read-only or missing
    folders, names too long), and never written over its own input."""
    if args.metrics and Path(args.metrics).suffix.lower() not in (".json", ".csv"):
        raise LayerwiseError(f"--metrics {args.metrics}: the file name must end in .json or "
                             f".csv")
    if args.checkpoint_every is not None:
        if not (args.checkpoint or args.output):
            raise LayerwiseError("--checkpoint-every needs somewhere to write: --checkpoint "
                                 "PATH.lwnet, or -o OUT.lwnet (then OUT.checkpoint.lwnet)")
    elif args.checkpoint:
        raise LayerwiseError("--checkpoint PATH needs --checkpoint-every N (epochs)")
    outs = {flag: out for flag, out in (("-o", args.output), ("--metrics", args.metrics),
                                        ("--checkpoint", args.checkpoint)) if out}
    for flag, out in outs.items():
        if _exists(out, Path.is_dir):
            raise LayerwiseError(f"Cannot write '{out}': it is a folder; give a file name.")
        engine.check_output(out, "write")
        if flag != "--checkpoint":          # where a failed run would go instead
            engine.check_output(failed_path(out), "write a failed run to")
    _check_distinct(outs, args)


def _exists(path: str, test=Path.exists) -> bool:
    try:
        return test(Path(path))
    except OSError:          # a name too long, a loop of links: not there to be overwritten
        return False


def _check_distinct(outs: dict, args) -> None:
    """No two outputs in one file; no output over the data set or the metrics over the
    network; a .lwnet run may be continued in place (-o or --checkpoint over FILE or --resume)."""
    def same(a, b) -> bool:
        try:
            return Path(a).resolve() == Path(b).resolve()
        except (OSError, RuntimeError):
            return False
    flags = list(outs)
    for i, flag in enumerate(flags):
        for other in flags[i + 1:]:
            if same(outs[flag], outs[other]):
                raise LayerwiseError(f"'{outs[flag]}' is given for two outputs ({flag} and "
                                     f"{other}); give each its own file")
    inputs = [("FILE", args.file), ("--resume", args.resume), ("--dataset", args.dataset)]
    for flag, out in outs.items():
        for name, given in inputs:
            if given and _exists(given) and same(out, given) and not (
                    flag != "--metrics" and name != "--dataset" and _is_lwnet(given)):
                raise LayerwiseError(f"{flag} '{out}' is the {name} this run reads; write "
                                     f"to another file")


def _is_lwnet(path: str) -> bool:
    return Path(path).suffix.lower() == ".lwnet"


def _dataset(data):
    from engine import load_dataset
    progress = _download_progress if is_terminal() else None
    return load_dataset(data.name, progress=progress, **data.options)


def _fitted(dataset, spec):
    """The data shaped for the network's Input, checked before anything is announced (an
    invalid network is left to engine.train, which says what is wrong with it)."""
    from engine import analyze
    analysis = analyze(spec)
    if not analysis.ok or analysis.input_id is None:
        return dataset
    return dataset.fit_input(analysis.shapes[analysis.input_id])


def _option_pair(text: str) -> tuple[str, object]:
    """--data-option KEY=VALUE as (key, value): a JSON value (a number, true, null...) or the
    text as it is; anything else is a usage error."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} must look like KEY=VALUE")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _download_progress(name: str, done: int, total: int) -> None:
    size = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
    sys.stderr.write(f"\rdownloading {name}: {size}\033[K")
    if total and done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _header(saved, dataset, recipe, resume: bool, dist) -> str:
    from engine import finished_epochs, resolve_device
    config, pre = recipe.train, recipe.pretrain
    n_val = int(round(len(dataset) * config.val_fraction))
    name = printable(saved.spec.name or Path(saved.path).name)
    device = dist.device if dist.active else resolve_device(config.device)
    batch = f"batch {config.batch_size}"
    if dist.active:
        batch += (f" per process x {dist.world_size} processes = global batch "
                  f"{dist.global_batch(config.batch_size)}")
        device = f"{device.type} ({dist.world_size} processes, DDP)"
    text = (f"Training {name} on {dataset.name} ({len(dataset) - n_val:,} training / {n_val:,} "
            f"validation samples): {config.epochs} epochs, {config.optimizer} lr "
            f"{config.learning_rate:g}, {batch}, on {device}")
    if config.precision != "fp32":
        text += f", {config.precision} mixed precision"
    if pre.active:
        text += (f"; first {pre.mode} pre-training, {pre.epochs} epochs per layer, "
                 f"{pre.optimizer} lr {pre.learning_rate:g}, "
                 f"batch {pre.batch_size or config.batch_size}")
        if pre.mode == "unsupervised":
            text += f", noise {pre.noise:g}" + (", tied weights" if pre.tied else "")
    if resume:
        text += f"; continuing after epoch {finished_epochs(saved.history or {})}"
    return text


# ----------------------------------------------------------------------------- the run

def _train(engine, args, network, spec, dataset, recipe, resume: bool, control, dist) -> int:
    callbacks = _callbacks(args, network, recipe.train, resume, dist) if dist.is_main else []
    try:
        run = engine.run_recipe(network, recipe, dataset=dataset, callbacks=callbacks,
                                control=control, distributed=dist)
        error = None
    except TrainingError as exc:
        if getattr(exc, "run", None) is None:
            raise
        run, error = exc.run, exc
    if dist.is_main:
        before = len((network.history or {}).get("runs", [])) if resume else 0
        print("\n".join(summary(run, before) + _checkpoint_lines(callbacks, run.status)))
        _write_outputs(args, run, spec)
    if error is not None:
        raise error
    return INTERRUPTED if run.stopped else 0


def _callbacks(args, network, config, resume: bool, dist) -> list:
    from engine import Checkpoints, finished_epochs
    callbacks = [_announce_stage]
    if is_terminal():
        first = finished_epochs(network.history or {}) if resume else 0
        callbacks.append(ProgressBar(config.epochs, first, processes=dist.world_size))
    if args.checkpoint_every:
        path = args.checkpoint or _default_checkpoint(args.output)
        callbacks.append(Checkpoints(path, args.checkpoint_every))
    return callbacks


def _announce_stage(event) -> None:
    """Print each pre-training stage as it begins."""
    from engine import StageEvent
    if isinstance(event, StageEvent):
        print(event.name, flush=True)


def _checkpoint_lines(callbacks, status: str) -> list[str]:
    from engine import Checkpoints
    hint = "" if status == "finished" else "; continue with --resume PATH"
    return [f"Checkpoint {c.path} written after epoch {c.written[-1]} "
            f"({len(c.written)} this run{hint})."
            for c in callbacks if isinstance(c, Checkpoints) and c.written]


def _default_checkpoint(output: str) -> str:
    out = Path(output)
    stem = out.name[:-len(out.suffix)] if out.suffix else out.name
    return str(out.with_name(stem + ".checkpoint.lwnet"))


def _stop_on_ctrl_c(control):
    """First Ctrl+C: stop at the end of the batch. Second: abort. Returns the undo function."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def on_interrupt(signum, frame):
        sys.stderr.write("\nstopping after this batch (Ctrl+C again to abort)\n")
        control.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    return lambda: signal.signal(signal.SIGINT, previous)


def summary(run, runs_before: int = 0) -> list[str]:
    """The epochs table and the closing line; the steps and time are this run's own (its
    history may continue earlier runs: `runs_before` of its records are theirs)."""
    rows = [("epoch", "train loss", "train acc", "val loss", "val acc", "lr", "time")]
    for e in run.history["epochs"]:
        rows.append((str(e["epoch"]), _num(e["train_loss"]), _pct(e["train_acc"]),
                     _num(e["val_loss"]), _pct(e["val_acc"]), f"{e['lr']:.3g}",
                     f"{e['seconds']:.1f}s"))
    lines = [""] + table(rows, right=tuple(range(7)))
    mine = run.history["runs"][runs_before:]        # this run's record, once it has begun
    steps = sum(r.get("steps", 0) for r in mine)
    seconds = sum(r.get("seconds", 0) for r in mine)
    status = {"finished": "Finished", "stopped": "Stopped (Ctrl+C)",
              "failed": "Failed"}.get(run.status, run.status)
    skipped = mine[-1].get("skipped_steps") if mine else None
    note = f" ({skipped:,} skipped by the fp16 loss scaler: their gradients overflowed)" \
        if skipped else ""
    lines.append(f"{status}: {steps:,} steps{note} in {duration(seconds)} on {run.device}.")
    return lines


def _num(x) -> str:
    return "-" if x is None else f"{x:.4f}"


def _pct(x) -> str:
    return "-" if x is None else f"{x:.2%}"


def failed_path(path: str) -> Path:
    """Where a failed run's output goes instead of `path`: NAME.failed.SUFFIX beside it."""
    p = Path(path)
    return p.with_name(f"{p.stem}.failed{p.suffix}")


def _write_outputs(args, run, spec) -> None:
    """-o and --metrics; a failed run writes NAME.failed.SUFFIX beside them instead, so it
    never replaces a good file (the one it continued, or an earlier run's)."""
    import engine
    failed = run.status == "failed"
    if args.output:
        path = failed_path(args.output) if failed else Path(args.output)
        run.save(path)
        held = "weights, config, history" + (" and optimizer state" if run.optimizer else "")
        print(f"Saved {path} ({held})."
              + (f" The run failed, so '{args.output}' is left as it was." if failed else ""))
    if args.metrics:
        path = failed_path(args.metrics) if failed else Path(args.metrics)
        text = _csv(run) if path.suffix.lower() == ".csv" else json.dumps(
            metrics(run, spec), indent=1, allow_nan=False, default=str)
        engine.write_atomically(path, text.encode("utf-8"), "write")
        print(f"Wrote metrics to {path}.")


def metrics(run, spec) -> dict:
    from engine import jsonable
    last = run.history["epochs"][-1] if run.history["epochs"] else {}
    return jsonable({"network": spec.name, "dataset": run.dataset, "device": run.device,
                    "status": run.status, "message": run.message,
                    "recipe": run.recipe_record().to_dict(), "final": last,
                    "history": run.history})


def _csv(run) -> str:
    out = io.StringIO()
    fields = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"]
    writer = csv.DictWriter(out, fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for e in run.history["epochs"]:
        writer.writerow({k: "" if e.get(k) is None else e[k] for k in fields})
    return out.getvalue()
