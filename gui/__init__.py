"""Layerwise's Qt window. Talks to `engine` through its public API; no training maths here."""
