"""Loading one file in a forked process under a data limit, to see how far its memory rises:
the fork starts with the memory of the process it came from (the engine imported), so the
rise of its peak (ru_maxrss) is what the load itself cost."""
from __future__ import annotations

import json
import os
import resource
import select
import signal
from pathlib import Path


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def data_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmData:"):
            return int(line.split()[1]) * 1024
    return 0


def load(kind: str, path: Path) -> str:
    import engine
    try:
        engine.load(path) if kind == "lwnet" else engine.load_dataset(path)
    except engine.LayerwiseError:
        return "refused"
    except BaseException as exc:      # noqa: BLE001 - what it was is the finding
        return f"crash: {type(exc).__name__}: {str(exc)[:200]}"
    return "accepted"


def _child(kind: str, path: Path, limit_mib: int, write: int) -> None:
    try:
        start = maxrss_mib()
        limit = data_bytes() + limit_mib * (1 << 20)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        outcome = load(kind, path)
        report = {"outcome": outcome, "rise_mib": round(maxrss_mib() - start, 1)}
        os.write(write, json.dumps(report).encode())
    finally:
        os._exit(0)


def load_in_fork(kind: str, path: Path, limit_mib: int, timeout: float = 60) -> dict:
    """{"outcome": accepted | refused | crash: ..., "rise_mib": peak rise} of loading `path`
    (kind "lwnet": engine.load, "data": engine.load_dataset) in a forked process whose data
    segment may grow by `limit_mib` at most (past it, allocations fail: MemoryError)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        _child(kind, path, limit_mib, write)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        ready, _, _ = select.select([fh], [], [], timeout)
        text = fh.read() if ready else b""
    if not ready:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if text:
        return json.loads(text)
    return {"outcome": f"crash: {'no answer in %s s' % timeout if not ready else status}",
            "rise_mib": None}
