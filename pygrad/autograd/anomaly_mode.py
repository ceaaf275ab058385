"""Anomaly detection: remember where each node was created and stop backward at the first NaN.

``detect_anomaly()`` (context manager or decorator) and ``set_detect_anomaly(mode, check_nan)``
(a call or a context manager) switch it, as in PyTorch.  While it is on, ``Function.apply``
stores the Python stack of the forward call on the node; the engine calls
``_EngineUtil.check_anomaly`` after every node and ``report_anomaly`` when a node fails,
which warns with that stack.
"""
from __future__ import annotations

import functools
import os
import traceback
import warnings

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled"]


class _State:
    # Process-wide, like PyTorch's AnomalyMode (not thread-local).
    enabled = False
    check_nan = True


_state = _State()
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection (``autograd.detect_anomaly``) is on."""
    return _state.enabled


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly mode also checks backward results for NaN."""
    return _state.check_nan


def _set(enabled: bool, check_nan: bool) -> None:
    _state.enabled, _state.check_nan = bool(enabled), bool(check_nan)


class detect_anomaly:
    """Enable anomaly detection inside a ``with`` block or a decorated function."""

    def __init__(self, check_nan: bool = True) -> None:
        self.prev = (_state.enabled, _state.check_nan)
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should "
                      "only be enabled for debugging.", UserWarning, stacklevel=2)

    def __enter__(self) -> None:
        self.prev = (_state.enabled, _state.check_nan)
        _set(True, self.check_nan)

    def __exit__(self, *exc) -> None:
        _set(*self.prev)

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self:
                return func(*args, **kwargs)
        return wrapper


class set_detect_anomaly:
    """``set_detect_anomaly(True)`` switches it at once; as a context it restores the old mode on exit."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = (_state.enabled, _state.check_nan)
        _set(mode, check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        _set(*self.prev)


def forward_stack() -> list[str]:
    """The caller's stack as formatted lines, without pygrad's own frames."""
    frames = [f for f in traceback.extract_stack()[:-1] if not f.filename.startswith(_PACKAGE_DIR)]
    return traceback.format_list(frames)


def report(node) -> None:
    """Warn, as PyTorch does, with the forward stack of the node whose backward failed."""
    trace = getattr(node, "_anomaly_trace", None)
    if trace is None:
        warnings.warn(f"Error detected in {node.name()}. No forward pass information available. Enable "
                      "detect anomaly during forward pass for more information.", UserWarning, stacklevel=2)
        return
    warnings.warn(f"Error detected in {node.name()}. Traceback of forward call that caused the error:\n"
                  + "".join(trace).rstrip("\n"), UserWarning, stacklevel=2)


def check_nan(node, grad_inputs) -> None:
    """PyTorch's error for the first gradient of ``node`` holding a NaN."""
    if not _state.check_nan:
        return
    import numpy as np
    for i, g in enumerate(grad_inputs):
        data = getattr(g, "_data", None)
        if data is not None and data.dtype.kind == "f" and np.isnan(data).any():
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")
