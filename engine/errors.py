"""The errors a user can cause. Each carries a message a person can act on."""
from __future__ import annotations


class LayerwiseError(Exception):
    """Base of every error Layerwise reports to a user (CLI and GUI show the message, no traceback)."""


class SpecError(LayerwiseError):
    """A network description is wrong: an unknown kind, a bad parameter, a broken graph.

    `node_id` names the node at fault when there is one; `problems` lists every problem found,
    as (node_id or None, sentence) pairs, when several were collected at once.
    """

    def __init__(self, message: str, node_id: str | None = None,
                 problems: list[tuple[str | None, str]] | None = None):
        super().__init__(message)
        self.node_id = node_id
        self.problems = list(problems) if problems else [(node_id, message)]


MAX_LISTED = 20         # problems a message lists; the rest are counted
MAX_PROBLEM = 500       # characters of one problem (none echoes a whole input)


def listed(problems: list[str]) -> list[str]:
    """Problems without repeats, each cut to MAX_PROBLEM characters, at most MAX_LISTED of them
    and then one line counting the others."""
    unique = list(dict.fromkeys(p if len(p) <= MAX_PROBLEM else p[:MAX_PROBLEM - 3] + "..."
                                for p in problems))
    if len(unique) > MAX_LISTED:
        more = len(unique) - MAX_LISTED
        unique = unique[:MAX_LISTED] + [f"and {more:,} more problem{'s' if more > 1 else ''}"]
    return unique


class FileFormatError(LayerwiseError):
    """A file cannot be read. `problems` lists every problem found in it, not only the first
    (repeats removed; long lists end with a count)."""

    def __init__(self, path, problems: list[str]):
        self.path = str(path)
        self.problems = listed(problems)
        if len(self.problems) == 1:
            message = f"Cannot open '{self.path}': {self.problems[0]}"
        else:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            count = len(dict.fromkeys(problems))
            message = f"Cannot open '{self.path}' ({count:,} problems):\n{lines}"
        super().__init__(message)


class DatasetError(LayerwiseError):
    """A data set cannot be found, read or used with this network."""


class TrainingError(LayerwiseError):
    """Training cannot start or cannot go on (NaN loss, out of memory, a device that is not there)."""


class UnsupportedOperations(LayerwiseError):
    """A network cannot be imported: some of its operations have no Layerwise kind (or use it
    in a way the kind cannot). `operations` lists (source node name, op type or reason)."""

    def __init__(self, operations: list[tuple[str, str]]):
        self.operations = list(operations)
        shown = listed([f"node '{name}' ({op})" for name, op in self.operations])
        n = len(self.operations)
        them = "them" if n > 1 else "it"
        super().__init__(f"cannot import {n:,} operation{'s' if n > 1 else ''}: "
                         f"{', '.join(shown)}: Layerwise has no layer for {them}")
