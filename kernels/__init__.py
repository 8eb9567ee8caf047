"""Fused hot loops: ``reference`` (the readable spec) and, per backend, the ops it speeds up.

``for_backend(backend)`` returns the kernel table for a backend: an object whose methods
are the hot operations (activation forward and gradient, dense forward and backward,
loss heads, the update). A backend's module overrides only what it makes faster;
everything else falls back to :class:`reference.Reference` (Thinc's pattern).
"""

from __future__ import annotations

from .reference import Reference

__all__ = ["Reference", "for_backend"]

_cache: dict[str, Reference] = {}


def for_backend(backend) -> Reference:
    """The kernel table for ``backend`` (one instance per backend)."""
    if backend.name not in _cache:
        _cache[backend.name] = Reference(backend)
    return _cache[backend.name]
