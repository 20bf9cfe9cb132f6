"""Layerwise's Qt window. Talks to `engine` through its public API; no training maths here."""
from ._compat import guard_none_refcount

guard_none_refcount()
