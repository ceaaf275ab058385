"""Fusion of elementwise chains (``pygrad.fusion``): chains of 1, 4, 16 and 64 ops and a sum,
forward and backward, fused (with the arithmetic of hot passes compiled to C, and without) and
unfused, on each backend, with peak memory; and the speedups fusion and the compiled arithmetic
bring, each pair timed alternately in one process."""
import pygrad
from pygrad.bench import timing

from .common import BACKENDS, SMOKE, grid, leaf, use_backend

LENGTHS = [1, 4, 16, 64]
SIZES = grid([100_000, 1_000_000, 10_000_000], [100_000])
BUDGET = timing.QUICK if SMOKE else timing.Budget(
    min_samples=3, max_samples=11, target_seconds=1.0, limit_seconds=20.0, sample_seconds=0.01)

# The links of a chain, in turn: arithmetic with numbers, a power and a smooth unary op, which
# keep values in [-2, 2] for any length.
LINKS = (lambda t: t * 0.5 + 0.25, lambda t: t.sin(), lambda t: (t - 0.1) ** 2, lambda t: t.atan())


def chain_step(x, length):
    x.grad = None
    y = x
    for i in range(length):
        y = LINKS[i % len(LINKS)](y)
    y.sum().backward()


def steady(x, length):
    """Run the chain until its hot passes are compiled (programs reach that after a few steps)."""
    for _ in range(3):
        chain_step(x, length)
    pygrad.fusion.wait_for_jit()


def speedup(x, length, switch) -> float:
    """Median time of a chain step with ``switch(False)`` / with ``switch(True)``, timed in turn
    (``timing.samples`` warms up and waits for the compiles first)."""
    medians = {}
    for flag in (False, True):
        switch(flag)
        medians[flag] = timing.stats(timing.samples(lambda: chain_step(x, length), BUDGET))["median"]
    return medians[False] / medians[True]


class Chain:
    params = [BACKENDS, ["fused", "fused-uncompiled", "unfused"], LENGTHS, SIZES]
    param_names = ["backend", "fusion", "length", "size"]
    timeout = 600

    def setup(self, backend, fusion, length, size):
        use_backend(backend)
        pygrad.fusion.set_enabled(fusion != "unfused")
        pygrad.fusion.set_jit(fusion == "fused")
        self.x = leaf(size)
        steady(self.x, length)

    def teardown(self, backend, fusion, length, size):
        pygrad.fusion.set_enabled(True)
        pygrad.fusion.set_jit(True)

    def time_forward_backward(self, backend, fusion, length, size):
        chain_step(self.x, length)

    def peakmem_forward_backward(self, backend, fusion, length, size):
        chain_step(self.x, length)


class FusionSpeedup:
    """Median unfused time / median fused time of one chain step (native backend)."""

    params = [LENGTHS, SIZES]
    param_names = ["length", "size"]
    unit = "x"
    number = 1
    repeat = 1
    timeout = 600

    def setup(self, length, size):
        use_backend("native")
        self.x = leaf(size)

    def track_fusion_speedup(self, length, size):
        return speedup(self.x, length, pygrad.fusion.set_enabled)


class CompiledArithmeticSpeedup:
    """Median time with each instruction a NumPy loop / median time with the arithmetic of hot
    passes compiled to C, of one fused chain step (native backend)."""

    params = [LENGTHS, SIZES]
    param_names = ["length", "size"]
    unit = "x"
    number = 1
    repeat = 1
    timeout = 600

    def setup(self, length, size):
        use_backend("native")
        pygrad.fusion.set_enabled(True)
        self.x = leaf(size)

    def track_compiled_arithmetic_speedup(self, length, size):
        return speedup(self.x, length, pygrad.fusion.set_jit)
