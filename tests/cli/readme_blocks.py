"""README.md's fenced code blocks, for test_readme.py: shell commands (backslash continuations
joined, `#` comments dropped, one command per logical line) and Python scripts (a block after
the earlier Python blocks of its `##`/`###` section)."""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

SHELL, PYTHON = {"", "bash", "sh", "shell", "console"}, {"python", "py", "python3"}


@dataclass
class Block:
    lang: str                       # "" for a bare ```
    line: int                       # README line of the block's first line
    section: int                    # index of the `##`/`###` heading above it
    lines: list[str] = field(default_factory=list)


@dataclass
class Command:
    block: Block
    line: int                       # README line where the command starts
    tokens: list[str]

    @property
    def text(self) -> str:
        return " ".join(self.tokens)

    @property
    def id(self) -> str:
        short = re.sub(r"^(\S*/)?python3? (?=main\.py|bench/)", "", self.text)
        return f"L{self.line} {short[:70]}"


def read_blocks(text: str) -> list[Block]:
    blocks, section, block = [], 0, None
    for number, line in enumerate(text.splitlines(), 1):
        fence = re.match(r"\s*```\s*([\w+-]*)\s*$", line)
        if block is None and fence:
            block = Block(fence[1].lower(), number + 1, section)
        elif block is not None and fence and not fence[1]:
            blocks.append(block)
            block = None
        elif block is not None:
            block.lines.append(line)
        elif re.match(r"#{2,3} ", line):
            section += 1
    return blocks


def strip_comment(line: str) -> str:
    """The line without its comment: `#` at the start of a word, outside quotes, as in bash."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def shell_commands(block: Block) -> list[Command]:
    commands, pending, start = [], "", None
    for offset, line in enumerate(block.lines):
        start = block.line + offset if start is None else start
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        tokens = shlex.split(strip_comment(pending + line))
        if tokens:
            commands.append(Command(block, start, tokens))
        pending, start = "", None
    return commands


def python_script(blocks: list[Block], block: Block) -> str:
    """`block` after the earlier Python blocks of its section, each at its README line number
    (blank lines before it), so that a traceback's line numbers are README line numbers."""
    lines: list[str] = []
    for earlier in blocks[:blocks.index(block) + 1]:
        if earlier.lang in PYTHON and earlier.section == block.section:
            lines += [""] * (earlier.line - 1 - len(lines)) + earlier.lines
    return "\n".join(lines) + "\n"
