"""pygrad.func: per-sample gradients of an MLP for a batch of 64 by ``vmap(grad(loss))`` against
a Python loop of backward passes (the workloads PSG and PSG-loop of ``pygrad.bench.workloads``).

``track_speedup_vmap_over_loop`` times both in one process and returns loop time / vmap time
(the target is at least 10).
"""
import pygrad
from pygrad.bench import timing
from pygrad.bench.workloads import WORKLOADS

from .common import BACKENDS, SMOKE, use_backend

BUDGET = timing.QUICK if SMOKE else timing.Budget(
    min_samples=3, max_samples=15, target_seconds=1.0, limit_seconds=20.0, sample_seconds=0.01)


def _state(key):
    workload = WORKLOADS[key]
    return workload, workload.build(pygrad, workload.inputs(workload.sizes[0]))


class PerSampleGradients:
    params = [BACKENDS]
    param_names = ["backend"]
    timeout = 300

    def setup(self, backend):
        use_backend(backend)
        self.vmapped, self.vmapped_state = _state("PSG")
        self.loop, self.loop_state = _state("PSG-loop")

    def time_vmap_grad(self, backend):
        self.vmapped.step(pygrad, self.vmapped_state)

    def time_python_loop(self, backend):
        self.loop.step(pygrad, self.loop_state)

    def track_speedup_vmap_over_loop(self, backend):
        seconds = {}
        for name, workload, state in (("vmap", self.vmapped, self.vmapped_state),
                                      ("loop", self.loop, self.loop_state)):
            seconds[name] = timing.stats(timing.samples(lambda: workload.step(pygrad, state), BUDGET))["median"]
        return seconds["loop"] / seconds["vmap"]

    track_speedup_vmap_over_loop.unit = "x"
