"""Fusion of elementwise chains on large tensors, forward and backward.

Elementwise table ops (``+ - * /``, ``exp``, ``log``, ``sin``, ``tanh``, ``pow``, ``softplus``, ...)
on float tensors of at least ``min_numel()`` elements (smaller operands broadcast to the result's
shape are fine) record their result
instead of computing it; the recorded chain is computed in one pass over cache-sized blocks when
something reads it, and a ``sum``/``mean`` of it is reduced in the same pass.  In backward, a
chain of such nodes runs as one pass that recomputes what the nodes saved.  The graph, the
printed values and gradients are those of eager evaluation (sums may differ in the last bits:
see ``pygrad/fusion/program.py`` for the summation order; on the native backend, transcendental
functions run glibc's vector math where it is built, within a few ulp of NumPy's loops, unless
``set_vector_math(False)`` or ``PYGRAD_FUSION_VECTOR_MATH=0``).  On the native backend, the
arithmetic of a pass that runs again and again is compiled to C loops in the background where a
C compiler runs (``pygrad/fusion/jit.py``): the same numbers, fewer passes over the cache
(``set_jit(False)`` or ``PYGRAD_FUSION_JIT=0`` turns it off).

    pygrad.fusion.set_enabled(False)       # or PYGRAD_FUSION=0 in the environment
    with pygrad.fusion.disabled(): ...
    pygrad.fusion.counters()               # how many chains were recorded, computed, reduced
"""
from __future__ import annotations

import contextlib

from ._state import state

__all__ = ["is_enabled", "set_enabled", "disabled", "enabled", "min_numel", "set_min_numel", "counters",
           "is_pending", "flush", "vector_math", "set_vector_math", "jit_enabled", "set_jit", "wait_for_jit"]


def is_enabled() -> bool:
    return state.on


def set_enabled(flag: bool) -> None:
    """Turn fusion on or off (results pending so far are computed first when turning it off)."""
    if not flag:
        flush()
    state.on = bool(flag)


@contextlib.contextmanager
def _switched(flag: bool):
    before = state.on
    set_enabled(flag)
    try:
        yield
    finally:
        set_enabled(before)


def disabled():
    """``with pygrad.fusion.disabled():`` runs every op eagerly inside."""
    return _switched(False)


def enabled():
    """``with pygrad.fusion.enabled():`` fuses inside (when it is off elsewhere)."""
    return _switched(True)


def min_numel() -> int:
    """Elementwise ops on fewer elements than this run eagerly."""
    return state.min_numel


def set_min_numel(n: int) -> None:
    """Fuse elementwise ops on at least ``n`` elements (results pending so far are computed first)."""
    flush()
    state.min_numel = int(n)
    state.min_numel_chosen = True


def vector_math() -> bool:
    """Whether compiled fused passes compute transcendental functions with vector math."""
    return state.vector_math


def set_vector_math(flag: bool) -> None:
    """On: compiled fused passes compute exp, log, sin, tanh, ... with glibc's vector math where
    the build has it (within a few ulp of NumPy's loops).  Off: with NumPy's own loops, so fused
    results equal eager ones bit for bit."""
    from . import program
    state.vector_math = bool(flag)
    program._LOWERED.clear()


def jit_enabled() -> bool:
    """Whether the arithmetic of hot compiled passes is compiled to C loops."""
    return state.jit


def set_jit(flag: bool) -> None:
    """On: compiled passes that run again and again get their arithmetic compiled to C loops
    (where a C compiler runs), the same numbers.  Off: one NumPy loop per instruction."""
    from . import jit, program
    jit.wait()
    state.jit = bool(flag)
    program._LOWERED.clear()


def wait_for_jit() -> None:
    """Wait until the passes being compiled in the background are compiled."""
    from . import jit
    jit.wait()


def counters() -> dict:
    """Chains recorded/computed/reduced in forward and fused in backward since import."""
    return dict(state.counters)


def is_pending(tensor) -> bool:
    """True while ``tensor`` is a recorded result not computed yet."""
    from .lazy import is_pending as pending
    return pending(tensor)


def flush() -> None:
    """Compute every recorded result now."""
    from .lazy import flush as run
    run()

