"""Writing files so that nothing good is lost: every file Layerwise writes goes through here.

A file is written to a temporary file beside its target and renamed over it only when complete
and flushed to disk, so a failed or killed write leaves the previous file intact. The target
is checked first: a folder, a device, a pipe or a socket is refused, a symbolic link is
written through (its target file is replaced, the link stays). A temporary file is named
`.NAME.PID-TOKEN.tmp`; one left behind by a killed process is removed at the next write of
that file (its process is gone), so crashes do not pile up partial files.
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Callable, Iterator

from engine.errors import LayerwiseError

NAME_MAX = 255                  # bytes in one file name on the usual file systems
TMP_ROOM = 40                   # what the temporary name adds: ".", ".PID-TOKEN.tmp"
LEGACY_AGE_S = 3600             # temporary files of older versions (no PID) are removed after


def output_problem(path) -> str | None:
    """Why `path` cannot be written, or None: a missing or read-only folder, a folder or a
    special file in its place, a name too long for the file system."""
    if "\0" in str(path):
        return "its name holds a NUL character, which no file name may hold"
    path = Path(path)
    if not path.name or path.name in (".", ".."):
        return "it names no file; give a file name"
    if len(path.name.encode("utf-8", "surrogateescape")) > NAME_MAX:
        return f"the file name is longer than the {NAME_MAX} bytes a file system allows"
    try:
        return _target_problem(_resolved(path))
    except OSError as exc:
        return exc.strerror or str(exc)


def _target_problem(target: Path) -> str | None:
    if target.is_dir():
        return "it is a folder; give a file name"
    if target.exists() and not target.is_file():
        return "it is not a regular file (a device, a pipe or a socket)"
    if not target.parent.is_dir():
        return f"the folder '{target.parent}' does not exist"
    if not os.access(target.parent, os.W_OK | os.X_OK) or not _can_create_in(target):
        return f"the folder '{target.parent}' is not writable"
    if target.exists() and not os.access(target, os.W_OK):
        return "the file is read-only"
    return None


def _can_create_in(target: Path) -> bool:
    """Whether a file can be created beside `target` (tried: permissions alone do not tell, for
    root, a read-only mount or /proc). The trial file has the name of a temporary of `target`,
    so a kill before it is removed leaves nothing the next save does not clean up."""
    probe = target.with_name(_tmp_name(target.name))
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:
        return False
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return True


def check_output(path, what: str = "write") -> None:
    """Raise LayerwiseError naming the path if it cannot be written (see output_problem)."""
    problem = output_problem(path)
    if problem:
        raise LayerwiseError(f"Cannot {what} '{path}': {problem}.")


@contextlib.contextmanager
def replacing(path, what: str = "save") -> Iterator[Path]:
    """A temporary path to write the new file to; it replaces `path` (a link's target) when the
    block ends without an error, else it is removed and the old file stays as it was."""
    check_output(path, what)
    target = _resolved(Path(path))
    remove_stale(target)
    tmp = temporary_path(target)
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.chmod(tmp, _mode(target))
        yield tmp
        sync(tmp)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise LayerwiseError(f"Cannot {what} '{path}': {exc.strerror or exc}; the previous "
                                 f"file, if any, is unchanged.") from None
        raise


def write_atomically(path, data: bytes, what: str = "save") -> Path:
    """Write `data` to `path` atomically (see replacing)."""
    return write_with(path, lambda fh: fh.write(data), what)


write_bytes = write_atomically


def write_with(path, writer: Callable, what: str = "save") -> Path:
    """Write `path` atomically by calling `writer(binary file object)`."""
    with replacing(path, what) as tmp:
        with open(tmp, "wb") as fh:
            writer(fh)
    return Path(path)


def temporary_path(target: Path) -> Path:
    """Where a write of `target` goes first: `.NAME.PID-TOKEN.tmp` beside it (a file, or a
    folder written whole, engine.io.shards_write), which remove_stale recognises."""
    return target.with_name(_tmp_name(target.name))


def remove_stale(target: Path) -> list[Path]:
    """Remove the temporary files (or folders) of earlier writes of `target` whose process has
    ended (or, for names without a process number, files older than an hour). Returns those
    removed."""
    removed = []
    prefix = "." + _short(target.name) + "."
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(".tmp")):
            continue
        if _is_stale(entry.name[len(prefix):-len(".tmp")], entry):
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


_OURS = re.compile(r"(\d+)-[0-9a-f]{8}")


def _is_stale(middle: str, entry: os.DirEntry) -> bool:
    match = _OURS.fullmatch(middle)
    if match:
        pid = int(match.group(1))
        return pid != os.getpid() and not _alive(pid)
    try:
        return entry.is_file(follow_symlinks=False) and \
            time.time() - entry.stat(follow_symlinks=False).st_mtime > LEGACY_AGE_S
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True             # someone else's process: leave its file alone
    return True


def _tmp_name(name: str) -> str:
    return f".{_short(name)}.{os.getpid()}-{secrets.token_hex(4)}.tmp"


def _short(name: str) -> str:
    """The file name cut to leave room for the temporary name's additions."""
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) <= NAME_MAX - TMP_ROOM:
        return name
    return raw[:NAME_MAX - TMP_ROOM].decode("utf-8", "ignore")


def _resolved(path: Path) -> Path:
    """A symbolic link's final target (so the link is written through, not replaced)."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _mode(target: Path) -> int:
    """The replaced file's permissions, else the usual ones for a new file."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def sync(path: Path) -> None:
    """Flush a written file, or a folder's entries, to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
