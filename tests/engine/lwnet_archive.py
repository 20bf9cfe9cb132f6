"""Reading and rewriting the members of a .lwnet file (a zip), for tests that damage one."""
from __future__ import annotations

import zipfile


def members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def rewrite(path, changes: dict) -> None:
    """Write `path` again with `changes` applied: name -> new bytes, or None to leave it out."""
    data = members(path)
    data.update(changes)
    with zipfile.ZipFile(path, "w") as zf:
        for name, blob in data.items():
            if blob is not None:
                zf.writestr(name, blob)
