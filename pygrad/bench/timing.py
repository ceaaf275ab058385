"""Timing and memory measurement: repeated samples, their statistics, the copy-bandwidth floor."""
from __future__ import annotations

import ctypes
import gc
import math
import sys
import time
import tracemalloc
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Budget:
    """How long to sample one benchmark."""

    min_samples: int      # take at least this many samples
    max_samples: int
    target_seconds: float  # keep sampling until this much time has passed (and min_samples)
    limit_seconds: float   # stop once this much has passed, if 3 samples are in
    sample_seconds: float  # each sample repeats the call until it lasts about this long


FULL = Budget(min_samples=5, max_samples=25, target_seconds=1.0, limit_seconds=10.0, sample_seconds=0.02)
QUICK = Budget(min_samples=3, max_samples=5, target_seconds=0.02, limit_seconds=0.5, sample_seconds=0.001)


def samples(fn, budget: Budget, collector: bool = True) -> list[float]:
    """Seconds per call of ``fn``, one value per sample; the warm-up calls are not counted.

    The cyclic garbage collector runs as it does in programs (``collector=False`` turns it off
    while sampling, as ``timeit`` does).  What the warm-up made hot in pygrad's fused passes is
    compiled before sampling (programs reach that steady state after a few steps)."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    _steady(fn)
    number = max(1, math.ceil(budget.sample_seconds / max(first, 1e-9)))
    out = []
    gc.collect()
    began = time.perf_counter()
    while True:
        enabled = gc.isenabled()
        if not collector:
            gc.disable()
        try:
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            out.append((time.perf_counter() - t0) / number)
        finally:
            if enabled:
                gc.enable()
        elapsed = time.perf_counter() - began
        if len(out) >= budget.max_samples:
            break
        if len(out) >= budget.min_samples and elapsed >= budget.target_seconds:
            break
        if len(out) >= 3 and elapsed >= budget.limit_seconds:
            break
    return out


def _steady(fn) -> None:
    jit = sys.modules.get("pygrad.fusion.jit")
    if jit is not None:
        for _ in range(jit.HOT):
            fn()
        jit.wait()


def stats(values) -> dict:
    """Median, min, quartiles and interquartile range of ``values``."""
    a = np.asarray(values, dtype=np.float64)
    q1, median, q3 = np.percentile(a, [25, 50, 75])
    return {"median": float(median), "min": float(a.min()), "q1": float(q1), "q3": float(q3),
            "iqr": float(q3 - q1), "n": int(a.size)}


def copy_seconds(size: int, dtype, budget: Budget) -> list[float]:
    """Samples of copying ``size`` elements of ``dtype``: reading and writing each byte once."""
    src = np.ones(size, dtype=dtype)
    dst = np.empty_like(src)
    return samples(lambda: np.copyto(dst, src), budget)


# -- peak memory ----------------------------------------------------------------------------

_CLEAR_REFS = "/proc/self/clear_refs"
_STATUS = "/proc/self/status"


def _status_kib(field: str) -> int | None:
    try:
        with open(_STATUS) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux); False where it cannot."""
    try:
        with open(_CLEAR_REFS, "w") as f:
            f.write("5")
    except OSError:
        return False
    return _status_kib("VmHWM") is not None


def _release_free_memory() -> None:
    """Collect garbage and hand freed heap pages back to the OS (glibc), so RSS is live memory."""
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def peak_memory(fn) -> tuple[int, str]:
    """Bytes by which one call of ``fn`` raises the process's peak memory, and how it was measured.

    On Linux the peak resident set size is reset before the call and read after it, which
    sees every allocator (NumPy's and PyTorch's); elsewhere tracemalloc's peak, which sees
    Python and NumPy allocations only.
    """
    _release_free_memory()
    if _reset_peak_rss():
        before = _status_kib("VmRSS")
        fn()
        peak = _status_kib("VmHWM")
        return max(0, (peak - before) * 1024), "rss"
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, "tracemalloc"
