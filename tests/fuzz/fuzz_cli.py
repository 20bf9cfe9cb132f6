"""Generated command lines for `info`, `train` and `export`, run in-process through
cli.main.main: files that are good, damaged (a mutated document from fuzz_lwnet, trained,
resumed, exported), missing, folders, special files; outputs that are
folders, the input itself, in missing folders, of the wrong kind; every train flag (read from the
parser itself) with values good, out of range, of the wrong type. Training stays tiny: at most
two epochs of a few dozen samples."""
from __future__ import annotations

import contextlib
import io
import os
import shutil
from pathlib import Path

import torch
from hypothesis import strategies as st

from fuzz_corpus import tiny_csv

NUMBERS = ["0", "1", "-1", "2", "abc", "1e3", "", "0.5", "nan", "inf", "-inf", "1e999",
           "18446744073709551616", " 1", "0x10", "1_0", "٣"]
SHORT = ["0", "1", "2", "-1", "abc", "", "1.5", "nan", "1e999"]   # epochs: nothing long
LONG_RUNNING = {"--epochs", "--pretrain-epochs"}
EXTRA = ["--bogus", "--", "-", "-o", "--json", "--fresh", "--tied", "x", "--help",
         "--epochs=1", "-o=", "\x00", "\x1b[2J", "é"]


def make_pool(folder: Path, seeds: dict[str, Path]) -> dict[str, list[str]]:
    """Files the command lines name: inputs (copies of the seeds of fuzz_corpus), data sets
    and outputs of every kind, in folder/work (put back as they were by `reset` before each
    command)."""
    if folder.exists():
        shutil.rmtree(folder)
    pristine = folder / "pristine"
    pristine.mkdir(parents=True)
    for name, seed in (("trained.lwnet", "trained"), ("conv.lwnet", "conv"),
                       ("net.json", "bare")):
        shutil.copy(seeds[seed], pristine / name)
    tiny_csv(pristine / "data.csv")
    work = folder / "work"
    reset(work)
    inputs = [str(work / n) for n in ("trained.lwnet", "conv.lwnet", "net.json", "mutant.lwnet",
                                      "missing.lwnet", "dir", "empty.lwnet", "junk.lwnet",
                                      "fifo.lwnet")]
    data = ["xor", "moons", "circles", str(work / "data.csv"), "nope", str(work / "dir"), "",
            "/dev/null", str(work / "fifo.lwnet"), str(work / "missing.csv")]
    outputs = [str(work / n) for n in ("out.lwnet", "out.json", "out.py", "out.onnx",
                                       "out.pt", "out", "dir", "no/such/out.lwnet",
                                       "m.json", "m.csv", "m.txt", "x" * 300 + ".lwnet")]
    return {"inputs": inputs + ["/dev/null", "", "-"], "data": data,
            "outputs": outputs + ["", "/dev/null"], "folder": [str(work)]}


def reset(work: Path) -> None:
    """folder/work as make_pool left it: the seed files, a folder, an empty file, junk, a FIFO."""
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(work.parent / "pristine", work)
    (work / "dir").mkdir()
    (work / "empty.lwnet").write_bytes(b"")
    (work / "junk.lwnet").write_bytes(b"PK\x03\x04 not really a zip")
    os.mkfifo(work / "fifo.lwnet")


def train_flags() -> list[tuple[str, list[str] | None, object]]:
    """Every option of `train`: (flag, its choices or None, the recipe Param it sets or None)."""
    import engine
    from cli.main import make_parser
    params = {f"{part}.{p.name}": p for part, ps in engine.Recipe.params().items() for p in ps}
    sub = next(a for a in make_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    return [(a.option_strings[-1], list(a.choices) if a.choices else None, params.get(a.dest))
            for a in sub.choices["train"]._actions
            if a.option_strings and a.nargs != 0 and a.dest != "help"]


PLAUSIBLE = {"--dataset": ["xor", "moons", "circles", "data.csv"],
             "--data-option": ["samples=32", "noise=0.2", "seed=3"],
             "--output": ["out.lwnet", "trained.lwnet"], "--metrics": ["m.json", "m.csv"],
             "--checkpoint": ["out.checkpoint.lwnet"],
             "--resume": ["trained.lwnet", "mutant.lwnet"],
             "--checkpoint-every": ["1", "2"], "--device": ["cpu"], "--threads": ["1", "2"]}


@st.composite
def value_for(draw, flag: str, choices, param, pool: dict[str, list[str]], hostile: bool):
    if flag in LONG_RUNNING:
        return draw(st.sampled_from(SHORT if hostile else ["1", "2"]))
    if not hostile:
        if flag in PLAUSIBLE:
            value = draw(st.sampled_from(PLAUSIBLE[flag]))
            return str(Path(pool["folder"][0]) / value) if "." in value and "=" not in value \
                and not value.startswith(("0", "1", "2")) else value
        if param is not None:
            from fuzz_specs import valid_value
            value = draw(valid_value(param))
            return str(value).lower() if isinstance(value, bool) else str(value)
    if choices:
        return draw(st.sampled_from(choices + ["bogus", ""]))
    if flag in ("--dataset",):
        return draw(st.sampled_from(pool["data"]))
    if flag == "--data-option":
        return draw(st.sampled_from(["samples=32", "samples=32", "samples=4", "samples=0",
                                     "samples=1e9", "noise=abc", "=", "x", "label=0",
                                     "label=9", "seed=18446744073709551616", "samples=32=1"]))
    if flag in ("--resume", "--checkpoint", "--output", "--metrics"):
        return draw(st.sampled_from(pool["outputs"] + pool["inputs"]))
    if flag == "--device":
        return draw(st.sampled_from(["cpu", "cpu", "auto", "cuda", "cuda:7", "mps", "tpu"]))
    return draw(st.sampled_from(NUMBERS))


@st.composite
def argv_lists(draw, pool: dict[str, list[str]], flags) -> list[str]:
    """Half of them plausible commands (good files, valid settings), half hostile."""
    hostile = draw(st.booleans())
    command = draw(st.sampled_from(["info", "info", "train", "train", "train", "export"]))
    argv = [command]
    if not hostile or draw(st.integers(0, 9)):
        argv.append(draw(st.sampled_from(pool["inputs"] if hostile else pool["inputs"][:4])))
    if command == "info" and draw(st.booleans()):
        argv.append("--json")
    elif command == "export":
        formats = ["python", "torchscript", "torchscript", "onnx"]
        argv += ["--format", draw(st.sampled_from(formats + ["bogus"] if hostile else formats))]
        targets = pool["outputs"] + pool["inputs"] if hostile else pool["outputs"][2:5]
        argv += ["-o", draw(st.sampled_from(targets))]
    elif command == "train":
        argv += ["--epochs", draw(st.sampled_from(["1", "1", "2"] + (SHORT if hostile else []))),
                 "--device", "cpu", "--data-option", "samples=32"]
        for flag, choices, param in draw(st.lists(st.sampled_from(flags), max_size=4)):
            argv += [flag, draw(value_for(flag, choices, param, pool, hostile))]
    if hostile and draw(st.integers(0, 5)) == 0:
        argv.insert(draw(st.integers(0, len(argv))), draw(st.sampled_from(EXTRA)))
    return argv


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of cli.main.main(argv), in this process; PyTorch's thread
    count is put back afterwards (--threads changes it)."""
    from cli.main import main
    out, err = io.StringIO(), io.StringIO()
    threads = torch.get_num_threads()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:          # argparse: usage errors and --help
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        torch.set_num_threads(threads)
    return code, out.getvalue(), err.getvalue()


def check_cli(argv: list[str], work: Path, mutant: bytes = b"") -> str:
    """Exit 0, or 1 / 2 with an error line; never a traceback. `mutant` is the content of
    mutant.lwnet (a damaged document, see fuzz_lwnet) for this command."""
    reset(work)
    (work / "mutant.lwnet").write_bytes(mutant)
    code, out, err = run_cli(argv)
    assert "Traceback" not in err + out, f"a traceback for {argv!r}:\n{err[-3000:]}"
    assert code in (0, 1, 2), f"exit code {code!r} for {argv!r}"
    if code:
        assert "error" in err, f"exit {code} without an error line for {argv!r}: {err[-500:]!r}"
    return "accepted" if code == 0 else "refused"
