"""`train` given absurd arguments, special files and outputs that would lose the run: each is
refused before any training with one line naming the option or the file, never a traceback,
and never a hang (a pipe is refused without being read). Plus the closing line's step count,
which is the run's own when it continues an earlier one."""
from __future__ import annotations

import contextlib
import os
import re
import signal
from pathlib import Path

import pytest

import main as entry

ROOT = Path(__file__).resolve().parents[2]
TOY = str(ROOT / "resources/examples/toy_2d.json")
BASE = [TOY, "--dataset", "moons", "--data-option", "samples=64", "--epochs", "1"]
fifo_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")


@pytest.fixture
def place(tmp_path, monkeypatch):
    """A folder with a pipe (pipe.lwnet, pipe.csv), a folder named like a file, a CSV and a
    copy of the toy network (a failed check would write over it, not over the project's)."""
    monkeypatch.chdir(tmp_path)
    Path("net.json").write_bytes(Path(TOY).read_bytes())
    if hasattr(os, "mkfifo"):
        os.mkfifo("pipe.lwnet")
        os.mkfifo("pipe.csv")
    os.mkdir("folder.lwnet")
    Path("data.csv").write_text("x,y,label\n0,1,a\n1,0,b\n1,1,a\n0,0,b\n", encoding="utf-8")
    return tmp_path


@contextlib.contextmanager
def deadline(seconds: float):
    """Fail instead of hanging (a pipe read would block forever)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise TimeoutError(f"the command was still running after {seconds} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def invoke(argv, capsys) -> tuple[int, str, str]:
    """Run the command line's entry in this process: exit code, stdout, stderr."""
    with deadline(20):
        try:
            code = entry.run(argv)
        except SystemExit as exc:          # argparse's usage errors
            code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


LONG = "x" * 300 + ".lwnet"

CASES = [   # (arguments after `train`, words the one error line must contain)
    (BASE + ["--epochs", str(10 ** 12)], "--epochs"),
    (BASE + ["--lr", "-1"], "--lr"),
    (BASE + ["--lr", "nan"], "--lr"),
    (BASE + ["--batch-size", "0"], "--batch-size"),
    (BASE + ["--seed", str(2 ** 64)], "--seed"),
    (BASE + ["--threads", "100000"], "--threads"),
    (BASE + ["--device", "tpu"], "--device"),
    (BASE + ["--val-fraction", "2"], "--val-fraction"),
    (BASE + ["--grad-clip", "inf"], "--grad-clip"),
    (BASE + ["--checkpoint-every", "0", "-o", "out.lwnet"], "--checkpoint-every"),
    (BASE + ["--data-option", "samples=1e999"], "samples"),
    (BASE + ["--data-option", f"seed={2 ** 64}"], "seed"),
    (BASE + ["--data-option", "=3"], "--data-option"),
    (BASE + ["--metrics", "m.txt"], "--metrics"),
    (BASE + ["-o", LONG], "longer than"),
    (BASE + ["-o", "folder.lwnet"], "folder.lwnet"),
    (BASE + ["-o", "y" * 245 + ".lwnet"], "Cannot write a failed run to"),    # its .failed.
    pytest.param(BASE + ["--metrics", "/proc/m.json"], "'/proc' is not writable",
                 marks=pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="no /proc")),
    (["net.json", *BASE[1:], "--metrics", "net.json"], "--metrics 'net.json' is the FILE"),
    (["net.json", *BASE[1:], "-o", "net.json"], "-o 'net.json' is the FILE"),
    (["net.json", "--dataset", "data.csv", "--epochs", "1", "-o", "data.csv"],
     "-o 'data.csv' is the --dataset"),
    (["folder.lwnet", "--dataset", "moons"], "folder.lwnet"),
    pytest.param(["pipe.lwnet", "--dataset", "moons"], "pipe.lwnet", marks=fifo_only),
    pytest.param(["--resume", "pipe.lwnet"], "pipe.lwnet", marks=fifo_only),
    pytest.param([TOY, "--dataset", "pipe.csv", "--epochs", "1"], "pipe.csv", marks=fifo_only),
    pytest.param(BASE + ["-o", "pipe.lwnet"], "pipe.lwnet", marks=fifo_only),
]


@pytest.mark.parametrize("args, words", CASES, ids=lambda c: " ".join(c)[-40:]
                         if isinstance(c, list) else None)
def test_a_bad_invocation_is_one_line_naming_what_is_wrong(place, capsys, args, words):
    code, out, err = invoke(["train", *args], capsys)
    assert code not in (0, None), out + err
    assert "Traceback" not in err and "Training" not in out     # refused before the run
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err
    assert words in errors[0], errors[0]
    assert len(errors[0]) < 600                              # the 300-byte name, once
    assert not any(place.glob("*.tmp")) and not any(place.glob(".*.tmp"))


def test_a_continued_run_counts_its_own_steps(tmp_path, capsys):
    """The closing line counts the steps of this run, not those of the whole history."""
    out = str(tmp_path / "net.lwnet")
    first = ["train", TOY, "--dataset", "moons", "--data-option", "samples=300", "--epochs",
             "2", "--batch-size", "50", "-o", out]
    assert invoke(first, capsys)[0] == 0              # 270 training samples: 6 steps an epoch
    code, printed, _ = invoke(["train", out, "--epochs", "1", "-o", out], capsys)
    assert code == 0 and "Finished: 6 steps" in printed
    code, printed, err = invoke(["train", out, "--optimizer", "sgd", "--lr", "9", "--loss",
                                 "mse", "--epochs", "40", "-o", out], capsys)
    failed_at = re.search(r"at step (\d+)", err)
    if code == 0 or not failed_at:
        pytest.fail("lr 9 with plain SGD was expected to diverge")
    assert f"Failed: {int(failed_at.group(1)) - 1 - 18:,} steps" in printed
