"""NumPy's floating-point warnings off around a call, cheaply.

PyTorch gives no floating-point warnings (``exp(1000)`` is inf, ``inf - inf`` nan), so pygrad's
computations run with NumPy's off: the op table's ops (``ops/_opdef.py``), the engine's backward
pass (``autograd/engine.py``) and the hand-written forwards and helpers marked ``@quietly``.

NumPy keeps its error state in a context variable: ``quiet()`` sets it to the current state with
every error ignored (made once per state seen) and returns the token ``restore`` takes, which
costs a fraction of entering an ``np.errstate``.  (``pygrad/_native/kernels.pyx`` does the same
in C for the compiled kernels and an op's compiled common path.)
"""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

import numpy as np

_F = TypeVar("_F", bound=Callable[..., Any])

try:
    from numpy._core._ufunc_config import _extobj_contextvar as _np_error_state
except ImportError:  # a NumPy without it: errstate
    _np_error_state = None
_quiet_states = (None, None)  # (the last error state seen, the same with every error ignored)


def quiet():
    """Turn NumPy's floating-point warnings off; returns what ``restore`` takes."""
    global _quiet_states
    if _np_error_state is None:
        manager = np.errstate(all="ignore")
        manager.__enter__()
        return manager
    state = _np_error_state.get()
    states = _quiet_states
    if states[1] is state:
        return None  # quiet already (an op's backward in the engine's pass)
    if states[0] is not state:
        with np.errstate(all="ignore"):
            states = _quiet_states = (state, _np_error_state.get())
    return _np_error_state.set(states[1])


def restore(token) -> None:
    """The error state as it was before ``quiet()`` returned ``token``."""
    if _np_error_state is None:
        token.__exit__(None, None, None)
    elif token is not None:
        _np_error_state.reset(token)


def in_state_of_caller(fn: _F) -> _F:
    """``fn`` running in the error state current now, also when called later in a quiet one (the
    program's closure an optimizer step calls)."""
    if _np_error_state is None:
        return fn
    state = _np_error_state.get()

    @functools.wraps(fn)
    def run(*args, **kwargs):
        token = _np_error_state.set(state)
        try:
            return fn(*args, **kwargs)
        finally:
            _np_error_state.reset(token)
    return run  # type: ignore[return-value]


def quietly(fn: _F) -> _F:
    """``fn`` running with NumPy's floating-point warnings off (a hand-written op's forward)."""
    def run(*args, **kwargs):
        token = quiet()
        try:
            return fn(*args, **kwargs)
        finally:
            restore(token)
    run.__code__ = run.__code__.replace(co_name=fn.__name__)  # the frame is named as the function (vmap's message)
    return functools.wraps(fn)(run)  # type: ignore[return-value]
