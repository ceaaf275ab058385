"""``python -m pygrad.bench.vecmath``: the vector transcendental loops against NumPy's and torch's.

Speed (default): per function and dtype, on 1e6 contiguous elements, NumPy's ufunc writing into
a preallocated output, the same through the vector loop (``pygrad._native.vecmath``), and torch
(if installed, ``out=``), each the median of a few calls, one run.  Pin the threads first
(``OMP_NUM_THREADS=1``): torch otherwise uses every core.

Accuracy (``--ulp``): per function and dtype, the largest distance in units in the last place
of the vector loop from NumPy's loop and of each from the correctly rounded result (float32
evaluated in float64, float64 in long double, then rounded), over wide random ranges, the
function's own domain and the special values (``inputs``).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

DTYPES = (np.float32, np.float64)
SIZE = 1_000_000

# Dense inputs where each function does its work, besides the whole float range.
DOMAINS = {
    "exp": (-100, 100), "exp2": (-150, 150), "expm1": (-5, 5), "log": (0, 10),
    "log2": (0, 10), "log10": (0, 10), "log1p": (-1, 10), "sin": (-100, 100),
    "cos": (-100, 100), "tan": (-10, 10), "tanh": (-20, 20), "sinh": (-100, 100),
    "cosh": (-100, 100), "arcsin": (-1, 1), "arccos": (-1, 1), "arctan": (-10, 10),
    "arcsinh": (-100, 100), "arccosh": (1, 100), "arctanh": (-1, 1), "cbrt": (-10, 10),
    "arctan2": (-10, 10), "hypot": (-10, 10),
}


def special_values(dtype) -> np.ndarray:
    """nan, infinities, signed zeros, denormals, the range's ends, domain edges, large
    arguments of the trigonometric functions and the overflow edges of the exponentials."""
    dtype = np.dtype(dtype).type
    info = np.finfo(dtype)
    tiny_denormal = np.nextafter(dtype(0), dtype(1))
    magnitudes = [0.0, tiny_denormal, info.tiny - tiny_denormal, info.tiny, info.eps, 1e-20,
                  1e-8, 1e-4, 0.5, 1 - info.epsneg, 1.0, 1 + info.eps, 2.0, np.pi / 2, np.pi, 3.0,
                  10.0, 88.0, 88.72, 89.0, 100.0, 709.0, 709.78, 710.0, 1e4, 1e5, 1e10, 1e22,
                  1e38, 1e300, float(info.max), np.inf]
    with np.errstate(over="ignore"):  # float64 magnitudes become float32's infinity
        values = np.array(magnitudes, dtype=np.float64).astype(dtype)
    return np.concatenate([values, -values, np.array([np.nan, -np.nan], dtype)])


def inputs(name: str, dtype, size: int = 20_000, seed: int = 0) -> np.ndarray:
    """Random magnitudes over the whole range (log-uniform, both signs), dense values in the
    function's domain, and the special values."""
    dtype = np.dtype(dtype).type
    rng = np.random.default_rng(seed)
    info = np.finfo(dtype)
    low = np.log2(np.nextafter(dtype(0), dtype(1)).astype(np.float64))
    wide = np.exp2(rng.uniform(low, info.maxexp, size)) * rng.choice([-1.0, 1.0], size)
    lo, hi = DOMAINS[name]
    with np.errstate(over="ignore"):
        parts = [wide.astype(dtype), rng.uniform(lo, hi, size).astype(dtype), special_values(dtype)]
    return np.concatenate(parts)


def pairs(name: str, dtype, size: int = 20_000, seed: int = 0):
    """The two operands of a binary function: random pairs and every pair of special values."""
    a, b = inputs(name, dtype, size, seed), inputs(name, dtype, size, seed + 1)
    special = special_values(dtype)
    sa, sb = np.meshgrid(special, special)
    return np.concatenate([a, sa.ravel()]), np.concatenate([b, sb.ravel()])


def operands(ufunc, dtype, size: int = 20_000, seed: int = 0) -> tuple:
    name = ufunc.__name__
    return pairs(name, dtype, size, seed) if ufunc.nin == 2 else (inputs(name, dtype, size, seed),)


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise distance in units in the last place (as float64): 0 for two nans or equal
    infinities, infinite for a nan against a number and for zeros of opposite sign."""
    a, b = np.asarray(a), np.asarray(b)
    signed, width = (np.int32, 32) if a.dtype == np.float32 else (np.int64, 64)
    def ordered(x):
        bits = x.view(signed).astype(np.int64)
        # Negative floats count down from zero, so consecutive floats are consecutive integers.
        return np.where(bits < 0, np.iinfo(signed).min - bits, bits)
    oa, ob = ordered(a), ordered(b)
    same_sign = (oa < 0) == (ob < 0)
    with np.errstate(over="ignore"):
        distance = np.where(same_sign, np.abs(oa - ob).astype(np.float64),
                            np.abs(oa.astype(np.float64)) + np.abs(ob.astype(np.float64)))
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    distance[nan_a & nan_b] = 0.0
    distance[nan_a ^ nan_b] = np.inf
    distance[(a == 0) & (b == 0) & (np.signbit(a) != np.signbit(b))] = np.inf
    return distance


def correctly_rounded(ufunc, *args) -> np.ndarray:
    """``ufunc(*args)`` in the next wider precision, rounded to the arguments' dtype."""
    dtype = args[0].dtype
    wider = np.float64 if dtype == np.float32 else np.longdouble
    with np.errstate(all="ignore"):
        return ufunc(*(a.astype(wider) for a in args)).astype(dtype)


def ulp_table() -> list[tuple]:
    """``(name, dtype, vector vs NumPy, vector vs exact, NumPy vs exact)`` maximum ulps."""
    from pygrad._native import vecmath

    rows = []
    for name, dtype_name in vecmath.loops():
        ufunc, dtype = getattr(np, name), np.dtype(dtype_name)
        args = operands(ufunc, dtype)
        with np.errstate(all="ignore"):
            ours, theirs = vecmath._apply(ufunc, *args), ufunc(*args)
        exact = correctly_rounded(ufunc, *args)
        rows.append((name, dtype_name, ulp_distance(ours, theirs).max(),
                     ulp_distance(ours, exact).max(), ulp_distance(theirs, exact).max()))
    return rows


# Where the speed is timed: inside the domain, and away from overflow and underflow, whose
# lanes libmvec hands to the scalar function.
SPEED_DOMAINS = {**DOMAINS, "exp": (-10, 10), "exp2": (-10, 10), "sinh": (-10, 10),
                 "cosh": (-10, 10), "log1p": (-0.9, 10), "arctanh": (-0.99, 0.99)}


def _best_times(fns, repeat: int) -> list[float]:
    """The fastest of ``repeat`` calls of each function, the functions called in turn so that
    the load of a shared machine falls on all of them alike."""
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - start)
    return best


TORCH_NAMES = {"arctan2": "atan2"}


def speed_table(size: int = SIZE, repeat: int = 5) -> list[tuple]:
    """``(name, dtype, NumPy ms, vector ms, torch ms or None)`` on ``size`` elements: the best
    of ``repeat`` interleaved calls."""
    from pygrad._native import vecmath
    try:
        import torch
    except ImportError:
        torch = None

    rows = []
    for name, dtype_name in vecmath.loops():
        ufunc, dtype = getattr(np, name), np.dtype(dtype_name)
        lo, hi = SPEED_DOMAINS[name]
        rng = np.random.default_rng(0)
        args = tuple(rng.uniform(lo, hi, size).astype(dtype) for _ in range(ufunc.nin))
        out = np.empty(size, dtype)
        fns = [lambda: ufunc(*args, out=out), lambda: vecmath._apply(ufunc, *args, out=out)]
        torch_fn = getattr(torch, TORCH_NAMES.get(name, name), None) if torch else None
        if torch_fn is not None:
            targs = [torch.from_numpy(a) for a in args]
            tout = torch.empty(size, dtype=targs[0].dtype)
            fns.append(lambda: torch_fn(*targs, out=tout))
        with np.errstate(all="ignore"):
            times = [t * 1e3 for t in _best_times(fns, repeat)]
        rows.append((name, dtype_name, times[0], times[1], times[2] if len(times) > 2 else None))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pygrad.bench.vecmath",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--ulp", action="store_true", help="the accuracy table instead of speed")
    parser.add_argument("--size", type=int, default=SIZE, help="elements per call (default 1e6)")
    args = parser.parse_args(argv)
    try:
        from pygrad._native import vecmath
    except ImportError as exc:
        print(f"the compiled vecmath module is not built here ({exc})")
        return 1
    if not vecmath.available():
        print("no vector loops here (libmvec not linked or no AVX2+FMA)")
        return 0
    if args.ulp:
        print("| function | dtype | vector vs NumPy | vector vs exact | NumPy vs exact |")
        print("|---|---|---:|---:|---:|")
        for name, dtype, mine, ours, theirs in ulp_table():
            print(f"| {name} | {dtype} | {mine:g} | {ours:g} | {theirs:g} |")
        return 0
    print(f"| function | dtype | NumPy ms | vector ms | torch ms | NumPy / vector |")
    print("|---|---|---:|---:|---:|---:|")
    for name, dtype, numpy_ms, vector_ms, torch_ms in speed_table(args.size):
        torch_text = "-" if torch_ms is None else f"{torch_ms:.2f}"
        print(f"| {name} | {dtype} | {numpy_ms:.2f} | {vector_ms:.2f} | {torch_text} "
              f"| {numpy_ms / vector_ms:.1f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
