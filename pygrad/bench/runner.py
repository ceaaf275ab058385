"""Run the workloads on every library in this process: check gradients, then time.

The caller has already pinned the thread count (environment variables read by the BLAS and
OpenMP runtimes when NumPy and PyTorch load); :func:`run` also tells PyTorch.
"""
from __future__ import annotations

import importlib

import numpy as np

from . import timing
from .workloads import WORKLOADS

# pygrad-unfused: the native backend with fusion of elementwise chains off (pygrad.fusion).
LIBRARIES = ("pygrad-native", "pygrad-unfused", "pygrad-pure", "torch", "numpy")
FLOOR = "copy floor"   # the pseudo-library of W3's bandwidth floor


class Library:
    """One thing to benchmark: a pygrad backend, PyTorch, or the hand-written NumPy versions."""

    def __init__(self, name: str, threads: int):
        self.name = name
        self.module = None
        self.unavailable = None
        if name.startswith("pygrad-"):
            import pygrad
            self.fused = name != "pygrad-unfused"
            self.backend = "native" if not self.fused else name.removeprefix("pygrad-")
            if self.backend not in pygrad._backend.available():
                self.unavailable = f"the {self.backend} backend is not built"
            self.module = pygrad
        elif name == "torch":
            try:
                self.module = importlib.import_module("torch")
            except ImportError:
                self.unavailable = "PyTorch is not installed"
            else:
                self.module.set_num_threads(threads)
        elif name != "numpy":
            raise ValueError(f"unknown library {name!r}; expected one of {', '.join(LIBRARIES)}")

    def activate(self) -> None:
        if self.name.startswith("pygrad-"):
            self.module._backend.use(self.backend)
            self.module.fusion.set_enabled(self.fused)

    def skip_reason(self, workload) -> str | None:
        if self.unavailable:
            return self.unavailable
        if self.module is not None:
            missing = workload.missing(self.module)
            if missing:
                return f"{self.name.split('-')[0]} lacks {', '.join(missing)}"
        return None

    def check(self, workload, arrays, reference) -> None:
        """Raise GradientMismatch unless one forward+backward gives the reference gradients."""
        if self.module is None:
            got = workload.numpy_forward_backward(workload.numpy_build(arrays, workload.dtype))
        else:
            state = workload.build(self.module, arrays)
            workload.forward_backward(self.module, state)
            got = workload.grads(state)
        workload.check(got, reference, self.name)

    def step_function(self, workload, arrays):
        """A no-argument callable running one timed step on fresh state."""
        if self.module is None:
            state = workload.numpy_build(arrays, workload.dtype)
            return lambda: workload.numpy_step(state)
        state, m = workload.build(self.module, arrays), self.module
        return lambda: workload.step(m, state)


def _record(workload, size, library: str, threads: int, **fields) -> dict:
    return {"workload": workload.key, "title": workload.title, "size": size, "label": workload.label(size),
            "library": library, "threads": threads, "unit": workload.unit,
            "count": workload.count(size), **fields}


def _timed(workload, size, library: str, threads: int, seconds, peak=None, gc="on") -> dict:
    s = timing.stats(seconds)
    rec = _record(workload, size, library, threads, status="ok", samples=list(seconds), **s,
                  per_unit=s["median"] / workload.count(size), gc=gc)
    if peak is not None:
        rec["peak_bytes"], rec["peak_method"] = peak
    return rec


def run(workload_keys, library_names, threads: int, quick: bool, progress=None, collector_modes=("on",)) -> list[dict]:
    """Records for every (workload, size, library, collector mode), skipped ones with their reason.

    ``collector_modes``: "on" (the garbage collector runs, as in programs) and/or "off".
    pygrad's backend and fusion switch are as before when it returns (or raises)."""
    import pygrad
    before = pygrad._backend.name, pygrad.fusion.is_enabled()
    try:
        return _run(workload_keys, library_names, threads, quick, progress, collector_modes)
    finally:
        pygrad._backend.use(before[0])
        pygrad.fusion.set_enabled(before[1])


def _run(workload_keys, library_names, threads, quick, progress, collector_modes) -> list[dict]:
    budget = timing.QUICK if quick else timing.FULL
    libraries = [Library(name, threads) for name in library_names]
    records = []
    for key in workload_keys:
        workload = WORKLOADS[key]
        for size in (workload.quick_sizes if quick else workload.sizes):
            arrays = workload.inputs(size)
            reference = workload.reference(arrays)
            runnable = []
            for lib in libraries:
                reason = lib.skip_reason(workload)
                if reason:
                    records.append(_record(workload, size, lib.name, threads, status="skipped", reason=reason))
                    continue
                lib.activate()
                lib.check(workload, arrays, reference)   # every library, before any timing
                runnable.append(lib)
            for lib in runnable:
                for mode in collector_modes:
                    if progress:
                        progress(f"{workload.key} {workload.label(size)} {lib.name} threads={threads} gc={mode}")
                    lib.activate()
                    step = lib.step_function(workload, arrays)
                    seconds = timing.samples(step, budget, collector=mode == "on")
                    peak = timing.peak_memory(step) if workload.track_memory else None
                    records.append(_timed(workload, size, lib.name, threads, seconds, peak, gc=mode))
            if hasattr(workload, "floor_bytes"):
                copies = timing.copy_seconds(size, np.dtype(workload.dtype), budget)
                rec = _timed(workload, size, FLOOR, threads, copies)
                rec["bandwidth_bytes_per_s"] = workload.floor_bytes(size) / rec["min"]
                records.append(rec)
    return records
