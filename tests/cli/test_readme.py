"""README.md stays true: every command and Python snippet of its fenced code blocks that can run
on a CPU, offline, in one process tree and without a display is run here, as written.

Reading: README.md's fenced blocks; ```bash / sh / shell / console and a bare ``` are shell,
```python is Python, any other language is ignored. In a shell block a trailing backslash joins
the next line, `#` at the start of a word starts a comment (outside quotes), and each remaining
logical line is one command and one test case (id: README line + a short form of the command).
The parsing is in readme_blocks.py, next to this file.

Commands run: those that start the app, `.venv/bin/python main.py ...`, `python main.py ...`,
`layerwise ...`, or a benchmark, `python bench/X.py ...`: with this interpreter and the
repository's main.py / bench script. A block's commands run in order in one fresh temporary
folder, since later ones read what earlier ones wrote (selecting one case alone first runs the
block's earlier commands). The folder holds a symlink `resources` -> the repository's, so
`resources/examples/...` works as in a checkout. Environment: QT_QPA_PLATFORM=offscreen, CI=1,
stdin from /dev/null and output piped (no TTY), no CUDA device visible, LAYERWISE_DATA_DIR,
LAYERWISE_HOME and XDG_CACHE_HOME inside the folder, and the download URLs and HTTP(S) proxies
pointed at a closed local port, so nothing can reach the network. Each must exit 0 within
TIMEOUT seconds; a listing (--help, --list, --json, info, datasets) must also print something.

Commands skipped: those a SKIP pattern matches (re.search on the command as one line), each
with its reason. A command that is neither skipped nor recognised fails, so a new kind of
command must be added to one or the other. Every SKIP pattern must match a README command, and
at least MIN_COMMANDS commands and MIN_SNIPPETS snippets must be runnable, so that neither the
list can rot nor the harness silently run nothing.

Python blocks: each runs in a fresh subprocess in a fresh folder set up as above, with the
repository on PYTHONPATH, as one script made of the earlier Python blocks of the same section
(the text under one `##` or `###` heading; `####` does not start one) followed by itself: a
snippet may use names an earlier snippet of its own section defined, never another section's.
Each block sits at its README line number in the script, so tracebacks name README lines.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from readme_blocks import PYTHON, SHELL, Command, python_script, read_blocks, shell_commands

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
TIMEOUT = 300
TOLERANCE = 3.0      # percentage points between a quoted accuracy and a run of its command
MIN_COMMANDS, MIN_SNIPPETS = 10, 3
LISTINGS = {"--help", "-h", "--list", "--json", "info", "datasets"}
CLOSED_PORT = "http://127.0.0.1:9/"
SKIP = [   # (pattern, reason); the first match gives the reason
    (r"\bpip install\b", "sets up .venv: installs packages"),
    (r"main\.py$|^layerwise$", "opens the window (needs a display)"),
    (r"main\.py open\b", "opens the window (needs a display)"),
    (r"^torchrun\b", "several processes or machines"),
    (r"--precision (bf16|fp16)", "mixed precision needs a CUDA GPU"),
    (r"--dataset (mnist|fashion-mnist)( |$)", "downloads a 60,000-image data set"),
    (r"--resume out\.checkpoint\.lwnet", "resumes the checkpoint of the skipped mnist run"),
    (r"main\.py lab all\b(?!.*--quick)", "every experiment at full budget (minutes); `lab all` "
                                         "itself is tested in tests/cli/test_lab.py"),
]


def skip_reason(command: Command) -> str | None:
    return next((why for pattern, why in SKIP if re.search(pattern, command.text)), None)


def app_argv(tokens: list[str]) -> list[str] | None:
    """[interpreter, script, *args] for a command that starts the app or a benchmark."""
    if tokens[0] == "layerwise":
        return [sys.executable, str(ROOT / "main.py"), *tokens[1:]]
    if re.fullmatch(r"(\S*/)?python3?", tokens[0]) and len(tokens) > 1:
        if tokens[1] == "main.py" or re.fullmatch(r"bench/\w+\.py", tokens[1]):
            return [sys.executable, str(ROOT / tokens[1]), *tokens[2:]]
    return None


def runnable(command: Command) -> bool:
    return skip_reason(command) is None and app_argv(command.tokens) is not None


BLOCKS = read_blocks(README.read_text(encoding="utf-8"))
COMMANDS = [c for b in BLOCKS if b.lang in SHELL for c in shell_commands(b)]
SNIPPETS = [b for b in BLOCKS if b.lang in PYTHON]


def workdir(tmp_path_factory, name: str) -> Path:
    folder = tmp_path_factory.mktemp(name)
    (folder / "resources").symlink_to(ROOT / "resources", target_is_directory=True)
    return folder


def environment(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"}}
    env.update(QT_QPA_PLATFORM="offscreen", CI="1", PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="",
               LAYERWISE_DATA_DIR=str(folder / "data"), LAYERWISE_HOME=str(folder / "home"),
               XDG_CACHE_HOME=str(folder / "cache"), LAYERWISE_MNIST_URL=CLOSED_PORT,
               LAYERWISE_FASHION_MNIST_URL=CLOSED_PORT, NO_PROXY="", no_proxy="",
               **{name: CLOSED_PORT for name in ("http_proxy", "https_proxy", "HTTP_PROXY",
                                                 "HTTPS_PROXY", "all_proxy", "ALL_PROXY")})
    return env


def tail(output, lines: int = 25) -> str:
    if isinstance(output, bytes):
        output = output.decode(errors="replace")
    return "\n".join((output or "").rstrip().splitlines()[-lines:]) or "(nothing)"


def run_ok(argv: list[str], folder: Path, what: str, listing: bool = False) -> None:
    try:
        proc = subprocess.run(argv, cwd=folder, env=environment(folder), text=True,
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{what}\ntimed out after {TIMEOUT} s\n--- stdout\n{tail(exc.stdout)}\n"
                    f"--- stderr\n{tail(exc.stderr)}", pytrace=False)
    report = (f"{what}\nexit status {proc.returncode}\n--- stdout (tail)\n{tail(proc.stdout)}\n"
              f"--- stderr (tail)\n{tail(proc.stderr)}")
    if proc.returncode != 0 or (listing and not proc.stdout.strip()):
        pytest.fail(report + ("" if proc.returncode else "\nprinted nothing"), pytrace=False)


@pytest.fixture(scope="module")
def block_folders():
    return {}   # block line -> (folder, README lines of the commands tried there)


def run_through(command: Command, block_folders, tmp_path_factory) -> Path:
    """Run `command` and, first, the earlier commands of its block not yet run; the folder."""
    folder, done = block_folders.setdefault(
        command.block.line, (workdir(tmp_path_factory, "readme-block"), set()))
    block = [c for c in COMMANDS if c.block is command.block and runnable(c)]
    for step in block[:block.index(command) + 1]:
        if step.line not in done:   # earlier ones not yet tried (this case selected alone)
            done.add(step.line)
            role = "" if step is command else f" (run before line {command.line})"
            run_ok(app_argv(step.tokens), folder, f"README line {step.line}{role}: {step.text}",
                   listing=bool(LISTINGS & set(step.tokens)))
    return folder


@pytest.mark.parametrize("command", COMMANDS, ids=[c.id for c in COMMANDS])
def test_readme_command(command, block_folders, tmp_path_factory):
    if skip_reason(command):
        pytest.skip(skip_reason(command))
    assert app_argv(command.tokens), (f"README line {command.line}: `{command.text}` neither "
                                      f"starts the app nor a benchmark, and SKIP has no entry")
    run_through(command, block_folders, tmp_path_factory)


def test_the_readme_pretraining_commands_give_the_figures_it_quotes(block_folders,
                                                                   tmp_path_factory):
    """The pre-training block's three runs, as written: both pre-trained runs lead random
    initialisation by a wide margin, and each ends within TOLERANCE of the README's figure."""
    block = [c for c in COMMANDS if "--pretrain" in c.tokens and "deep_sigmoid" in c.text]
    assert len(block) == 2, "the README's pre-training block changed: update this test"
    folder = run_through(block[-1], block_folders, tmp_path_factory)
    text = " ".join(README.read_text(encoding="utf-8").split())
    quoted = re.search(r"\*\*([\d.]+)%\*\* from random initialisation.*?\*\*([\d.]+)%\*\* after "
                       r"supervised and \*\*([\d.]+)%\*\* after unsupervised", text)
    assert quoted, "the README no longer quotes the three figures this test checks"
    got = {name: json.loads((folder / f"{name}.json").read_text())["final"]["val_acc"] * 100
           for name in ("random", "supervised", "unsupervised")}
    for name, figure in zip(got, quoted.groups()):
        assert abs(got[name] - float(figure)) <= TOLERANCE, (name, got[name], figure)
    assert min(got["supervised"], got["unsupervised"]) - got["random"] >= 30, got


@pytest.mark.parametrize("block", SNIPPETS, ids=[f"L{b.line} python" for b in SNIPPETS])
def test_readme_python_snippet(block, tmp_path_factory):
    folder = workdir(tmp_path_factory, "readme-snippet")
    (folder / "README_md.py").write_text(python_script(BLOCKS, block), encoding="utf-8")
    first = "\n    ".join(block.lines[:3])
    run_ok([sys.executable, "README_md.py"], folder,
           f"README python block at line {block.line}:\n    {first}\n    ...")


def test_every_skip_entry_matches_a_readme_command():
    unused = [p for p, _ in SKIP if not any(re.search(p, c.text) for c in COMMANDS)]
    assert not unused, f"SKIP entries that match no README command (remove them): {unused}"


def test_enough_commands_and_snippets_are_run():
    commands = [c.text for c in COMMANDS if runnable(c)]
    assert len(commands) >= MIN_COMMANDS, f"only {len(commands)} commands run: {commands}"
    assert len(SNIPPETS) >= MIN_SNIPPETS, f"only {len(SNIPPETS)} Python blocks found"


def test_the_parser_joins_continuations_drops_comments_and_chains_sections():
    text = ("## A\n```bash\npython main.py a \\\n    --b 'c # d'   # note\n# alone\nlayerwise e\n```\n"
            "```python\nx = 1\n```\n### B\n```python\ny = 2\n```\n```python\nprint(y)\n```\n")
    blocks = read_blocks(text)
    assert [c.tokens for c in shell_commands(blocks[0])] == [
        ["python", "main.py", "a", "--b", "c # d"], ["layerwise", "e"]]
    assert [c.line for c in shell_commands(blocks[0])] == [3, 6]
    assert python_script(blocks, blocks[3]).split() == ["y", "=", "2", "print(y)"]
    assert "x = 1" not in python_script(blocks, blocks[3])
