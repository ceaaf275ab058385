"""The workloads W1-W7 of ``pygrad.bench.workloads`` on each backend, and native's speedup on each.

``time_step`` runs with the garbage collector off (asv times with ``timeit``, which turns it
off); ``time_step_gc_on`` turns it back on inside the timed call, as programs run.
``track_speedup_*`` times both backends in one process and returns pure time / native time.
"""
import gc

import pygrad
from pygrad.bench import timing
from pygrad.bench.workloads import WORKLOADS

from .common import BACKENDS, SMOKE, grid, use_backend

SPEEDUP_BUDGET = timing.QUICK if SMOKE else timing.Budget(
    min_samples=3, max_samples=15, target_seconds=1.0, limit_seconds=20.0, sample_seconds=0.01)


def _state(key, size):
    workload = WORKLOADS[key]
    missing = workload.missing(pygrad)
    if missing:
        raise NotImplementedError(f"{key} needs {', '.join(missing)}, which pygrad lacks")
    return workload, workload.build(pygrad, workload.inputs(size))


class _Workload:
    key = ""
    param_names = ["backend", "size"]
    timeout = 300

    def setup(self, backend, size):
        use_backend(backend)
        self.workload, self.state = _state(self.key, size)

    def time_step(self, backend, size):
        self.workload.step(pygrad, self.state)

    def time_step_gc_on(self, backend, size):
        gc.enable()
        self.workload.step(pygrad, self.state)


class _Speedup:
    key = ""
    param_names = ["size"]
    unit = "x"
    timeout = 600
    number = 1
    repeat = 1

    def setup(self, size):
        if "native" not in pygrad._backend.available():
            raise NotImplementedError("pygrad's native backend is not built")
        self.workload, self.state = _state(self.key, size)

    def speedup(self):
        """Median pure time / median native time of one step, measured alternately here."""
        medians = {}
        for backend in ("pure", "native"):
            with pygrad._backend.use(backend):
                seconds = timing.samples(lambda: self.workload.step(pygrad, self.state), SPEEDUP_BUDGET)
            medians[backend] = timing.stats(seconds)["median"]
        return medians["pure"] / medians["native"]


class W1(_Workload):
    key = "W1"
    params = [BACKENDS, grid(WORKLOADS[key].sizes, WORKLOADS[key].quick_sizes)]


class W2(_Workload):
    key = "W2"
    params = [BACKENDS, grid(WORKLOADS[key].sizes, WORKLOADS[key].quick_sizes)]


class W3(_Workload):
    key = "W3"
    params = [BACKENDS, grid(WORKLOADS[key].sizes, WORKLOADS[key].quick_sizes)]

    def peakmem_step(self, backend, size):
        self.workload.step(pygrad, self.state)


class W3f64(_Workload):
    key = "W3f64"
    params = [BACKENDS, grid(WORKLOADS[key].sizes, WORKLOADS[key].quick_sizes)]


class W4(_Workload):
    key = "W4"
    params = [BACKENDS, grid(WORKLOADS[key].sizes, WORKLOADS[key].quick_sizes)]


class W5(_Workload):
    key = "W5"
    params = [BACKENDS, grid(WORKLOADS[key].sizes, WORKLOADS[key].quick_sizes)]
    repeat = (1, 5, 30.0)

    def peakmem_step(self, backend, size):
        self.workload.step(pygrad, self.state)


class W7(_Workload):
    key = "W7"
    params = [BACKENDS, grid(WORKLOADS[key].sizes, WORKLOADS[key].quick_sizes)]


class SpeedupW1(_Speedup):
    key = "W1"
    params = [grid(WORKLOADS[key].sizes, WORKLOADS[key].quick_sizes)]

    def track_speedup_W1(self, size):
        return self.speedup()


class SpeedupW2(_Speedup):
    key = "W2"
    params = [grid(WORKLOADS[key].sizes, WORKLOADS[key].quick_sizes)]

    def track_speedup_W2(self, size):
        return self.speedup()


class SpeedupW3(_Speedup):
    key = "W3"
    params = [grid(WORKLOADS[key].sizes, WORKLOADS[key].quick_sizes)]

    def track_speedup_W3(self, size):
        return self.speedup()


class SpeedupW4(_Speedup):
    key = "W4"
    params = [grid(WORKLOADS[key].sizes, WORKLOADS[key].quick_sizes)]

    def track_speedup_W4(self, size):
        return self.speedup()


class SpeedupW5(_Speedup):
    key = "W5"
    params = [grid(WORKLOADS[key].sizes, WORKLOADS[key].quick_sizes)]

    def track_speedup_W5(self, size):
        return self.speedup()


class W6(_Workload):
    key = "W6"
    params = [BACKENDS, grid(WORKLOADS[key].sizes, WORKLOADS[key].quick_sizes)]

    def peakmem_step(self, backend, size):
        self.workload.step(pygrad, self.state)


class SpeedupW6(_Speedup):
    key = "W6"
    params = [grid(WORKLOADS[key].sizes, WORKLOADS[key].quick_sizes)]

    def track_speedup_W6(self, size):
        return self.speedup()
