"""Work-arounds for defects in the Qt binding, each detected before it is applied.

PySide6 6.12.0 on CPython 3.10/3.11 drops one reference to `None` on every call of a C++ method
that returns void (`setText`, `setPos`, `lineTo`, ...). CPython before 3.12 counts references to
`None`, so after some tens of thousands of such calls its count reaches zero and the interpreter
aborts ("deallocating None"). A window that redraws a 300-layer network gets there in seconds.
PySide6 6.11 does not do this, and from CPython 3.12 `None` is immortal. When a probe shows the
defect, `None` is given a reserve of references large enough never to run out.
"""
from __future__ import annotations

import ctypes
import sys

PROBE_CALLS = 64


def none_refcount_leaks() -> bool:
    if sys.version_info >= (3, 12):
        return False
    from PySide6.QtCore import QObject
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(PROBE_CALLS):
        probe.setObjectName("probe")
    return before - sys.getrefcount(None) >= PROBE_CALLS // 2


def guard_none_refcount() -> bool:
    """Apply the work-around if the binding needs it; True if it was applied."""
    if not none_refcount_leaks():
        return False
    for singleton in (None, True, False):
        ctypes.c_ssize_t.from_address(id(singleton)).value += 1 << 40
    return True
