"""Shared pieces of the suite: the backend parameter, its switch, and seeded inputs."""
import numpy as np

import pygrad

BACKENDS = ["native", "pure"]
SEED = 0

# PYGRAD_BENCH_SMOKE=1 shrinks every size grid to a small one: a fast check, in CI, that each
# benchmark runs (with `asv run --quick`); its numbers are not the suite's.
SMOKE = pygrad._backend.env_flag("PYGRAD_BENCH_SMOKE")


def grid(full, smoke):
    """The parameter values of a size grid: ``full`` normally, ``smoke`` in a smoke run."""
    return list(smoke if SMOKE else full)


def use_backend(name):
    """Switch pygrad to backend ``name``; skip the benchmark (as asv expects) where it is not built."""
    if name not in pygrad._backend.available():
        raise NotImplementedError(f"pygrad's {name} backend is not built")
    pygrad._backend.use(name)


def require(*attributes):
    """Skip the benchmark unless ``pygrad.Tensor`` has every one of ``attributes``."""
    missing = [a for a in attributes if not hasattr(pygrad.Tensor, a)]
    if missing:
        raise NotImplementedError(f"pygrad lacks Tensor.{', Tensor.'.join(missing)}")


def array(shape, low=-1.0, high=1.0, dtype=np.float32, seed=SEED):
    """Seeded uniform values, the same for every backend and every run."""
    return np.random.default_rng(seed).uniform(low, high, shape).astype(dtype)


def leaf(shape, low=-1.0, high=1.0, dtype=np.float32, seed=SEED):
    return pygrad.tensor(array(shape, low, high, dtype, seed), requires_grad=True)


def matrix_shape(size):
    """A 2-d shape of ``size`` elements, rows of at most 1000."""
    cols = min(size, 1000)
    return (size // cols, cols)


def tree_sum(tensors):
    """Sum ``tensors`` pairwise, level by level: a balanced graph of depth log2(n)."""
    level = list(tensors)
    while len(level) > 1:
        paired = [a + b for a, b in zip(level[::2], level[1::2])]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]
