"""What the fuzzers check. Each `check_*` runs one input through its loader and returns
"refused" (the project's own error, engine.LayerwiseError) or "accepted"; any other exception
escapes: that is a crash. For accepted .lwnet files the consumers that read the document later
(info, kept-runs tables and CSV, history readers of the window and the command line, continuing
the training, saving again) must also raise nothing but the project's errors, and what saves
must open again."""
from __future__ import annotations

import contextlib
import json
import math
import signal
import traceback
from pathlib import Path

import numpy as np
import torch

import engine
from engine import LayerwiseError

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ("engine", "cli", "gui", "main.py")


class Hang(Exception):
    """An input took longer than the fuzzers allow for one load."""


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise Hang in the main thread after `seconds` (SIGALRM; Unix)."""
    def fire(signum, frame):
        raise Hang(f"no answer after {seconds} s")
    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def signature(exc: BaseException) -> str:
    """A crash class: the exception type and the innermost project function it passed."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [(f, _project_path(f.filename)) for f in frames]
    ours = [(f, rel) for f, rel in ours if rel is not None]
    if ours:
        frame, rel = ours[-1]
        return f"{type(exc).__name__} in {rel}:{frame.name}"
    where = f"{frames[-1].filename}:{frames[-1].name}" if frames else "?"
    return f"{type(exc).__name__} in {where}"


def _project_path(filename: str) -> str | None:
    """`filename` relative to the project when it is the project's code (not a test)."""
    path = Path(filename).resolve()
    if not path.is_relative_to(ROOT):
        return None
    rel = path.relative_to(ROOT)
    return str(rel) if rel.parts[0] in PROJECT else None


def refused_or(call, *args, **kwargs):
    """`call(*args)`, or None when it raises the project's own error."""
    try:
        return call(*args, **kwargs)
    except LayerwiseError:
        return None


# ----------------------------------------------------------------------------- .lwnet

def check_lwnet(path: Path, scratch: Path, train: bool = True) -> str:
    try:
        saved = engine.load(path)
    except LayerwiseError:
        return "refused"
    use_history(saved.history)
    use_runs(saved)
    use_info(saved, path)
    if saved.model is not None:
        export_all(saved, scratch)
    if train:
        continue_training(saved)
    save_again(saved, scratch / "again.lwnet")
    return "accepted"


def use_history(history) -> None:
    """Every reader of a stored history in the engine, the command line and the window."""
    from engine.run.history import continue_history, last_step
    from gui.training.endings import summary
    from gui.training.series import RunData
    for h in (history, history or {}):
        engine.finished_epochs(h or {})
        engine.network_edits(h)
        engine.diagnostics.latest_stats(h)
    engine.epochs_left(history or {})
    last_step(continue_history(history))
    summary(history)
    RunData.from_history(history or {})


def use_runs(saved) -> None:
    """The kept-runs table, its CSV and curves, a kept record of a continued run."""
    from engine.run.history import continue_history
    R = engine.runs
    config = saved.recipe.flat() if saved.recipe is not None else {}
    kept = R.make_record(continue_history(saved.history), config, "kept", saved.spec)
    records = [*saved.runs, kept]
    R.table_rows(records)
    R.table_csv(records)
    R.curves_csv(records)
    for a in records:
        R.summary(a)
        R.dataset_name(a)
        R.curves(a)
        R.config_diff(a, records[0])
    json.dumps(engine.jsonable(records), allow_nan=False)


def use_info(saved, path: Path) -> None:
    from cli.info import build_report, format_report
    report = build_report(saved, str(path))
    format_report(report)
    json.dumps(report, indent=2)


def continue_training(saved) -> None:
    """One epoch on a few samples shaped for the network, from the file's weights, history
    and optimizer state (as `train FILE` and Train in the window do)."""
    if saved.model is None:
        return
    refused_or(engine.remaining_epochs, saved)
    data = tiny_data(saved.spec)
    if data is None:
        return
    config = engine.TrainConfig(epochs=1, batch_size=8, probe_every=1, device="cpu")
    run = refused_or(engine.train, saved, data, config)
    if run is not None:
        use_history(run.history)


def tiny_data(spec):
    a = engine.analyze(spec)
    shape = a.shapes.get(a.input_id) if a.ok else None
    if not shape or math.prod(shape) > 4096:
        return None
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(24, *shape, generator=g), torch.arange(24) % 2
    return engine.Dataset("tiny", x, y, "classification", n_classes=2)


def save_again(saved, path: Path) -> None:
    """What loads, saves; what saves, opens (with nothing but the project's errors)."""
    try:
        engine.save(path, saved.spec, model=saved.model, history=saved.history,
                    recipe=saved.recipe, optimizer=saved.optimizer_state, runs=saved.runs)
    except LayerwiseError:
        return
    again = engine.load(path)
    assert again.spec == saved.spec, "the spec changed in a save and load"


# ----------------------------------------------------------------------------- network.json

def check_network(data, scratch: Path) -> str:
    try:
        spec = engine.NetworkSpec.from_dict(data)
    except LayerwiseError:
        return "refused"
    a = engine.analyze(spec)
    if a.ok and buildable(a):
        model = refused_or(engine.build, spec)
        if model is not None and a.flops <= 50_000_000 and a.activation_bytes <= 64 << 20:
            shape = a.shapes[a.input_id]
            with torch.no_grad():
                out = model.eval()(torch.zeros(2, *shape))
            assert tuple(out.shape) == (2, *a.output_shape), \
                f"analysis says {a.output_shape}, the model gives {tuple(out.shape[1:])}"
            export_all(model, scratch)
    from cli.info import build_report, format_report
    format_report(build_report(engine.Saved(spec), "fuzz.json"))
    path = refused_or(engine.save, scratch / "spec.lwnet", spec)
    if path is not None:
        assert engine.load(path).spec == spec, "the spec changed in a save and load"
    return "accepted"


def export_all(network, scratch: Path) -> None:
    """Export as PyTorch source and TorchScript, each checked against the network (ONNX is
    left to the command-line fuzzer: it takes seconds)."""
    for fmt, suffix in (("python", ".py"), ("torchscript", ".pt")):
        refused_or(engine.export, network, scratch / f"export{suffix}", format=fmt)


def buildable(a) -> bool:
    """Build only what cannot eat this machine's memory: small networks, and networks so big
    that an allocation must fail at once (those must fail with the project's error)."""
    return a.total_params <= 2_000_000 or a.total_params >= 100_000_000_000


# ----------------------------------------------------------------------------- data sets

def check_dataset(path: Path, options: dict) -> str:
    try:
        data = engine.load_dataset(path, **options)
    except LayerwiseError:
        return "refused"
    check_data(data)
    return "accepted"


def check_data(data) -> None:
    """An accepted data set is ready to train on: float32 finite inputs, one label per
    sample, classes from 0, finite regression targets, a split, a JSON reference. Inputs read
    from disk while training are decoded here: refused then (a value that is not finite),
    by the project's error only."""
    n = len(data)
    assert n >= 1 and data.x.dtype == torch.float32 and data.y.shape[0] == n
    x = data.x
    if data.streamed:
        try:
            x = data.x[:]
        except LayerwiseError:
            x = torch.zeros(n, *data.input_shape)
    assert x.shape == (n, *data.input_shape) and x.dtype == torch.float32
    assert torch.isfinite(x).all(), "accepted inputs that are not finite"
    if data.task == "classification":
        assert data.y.dtype == torch.int64 and data.n_classes and data.n_classes >= 1
        assert 0 <= int(data.y.min()) and int(data.y.max()) < data.n_classes
        assert data.classes is None or len(data.classes) <= data.n_classes
    else:
        assert data.y.dtype == torch.float32 and torch.isfinite(data.y).all()
    refused_or(data.split, 0.1)
    json.dumps(engine.jsonable(data.reference()), allow_nan=False)
    np.asarray(x[:1])


def check_network_text(text: str, scratch: Path) -> str:
    """A network.json as a file (engine.load) and, when Python can parse it, its data
    (NetworkSpec.from_dict): refused with the project's error, or valid all the way to a
    model whose output has the shape analysis gives."""
    path = scratch / "network.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        spec = engine.load(path).spec
    except LayerwiseError:
        spec = None
    outcome = "refused" if spec is None else check_network(spec.to_dict(), scratch)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return outcome
    direct = check_network(data, scratch)
    return "accepted" if "accepted" in (outcome, direct) else "refused"
