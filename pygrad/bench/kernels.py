"""``python -m pygrad.bench.kernels``: every compiled kernel against its pure NumPy twin.

For each kernel that the compiled module defines itself, each dtype (float32, float64), size
and operand layout (contiguous; strided, a view of every other element; broadcast, a stride-0
``expand`` of one element, as in every ``sum().backward()``), the two are timed interleaved,
with the garbage collector on, and the ratio of their best times is reported.  With
``--limit R`` the run fails when a compiled kernel is more than R times slower than NumPy in
some case; a case over the limit is measured again before it counts, since a 2-core machine
is noisy.
"""
from __future__ import annotations

import argparse
import inspect
import sys
import time

import numpy as np

DTYPES = (np.float32, np.float64)
LAYOUTS = ("contiguous", "strided", "broadcast")
SIZES = (1, 1_000, 1_000_000)
QUICK_SIZES = (1, 1_000, 100_000)


def compiled_kernels():
    """``{name: (native, pure, number of array arguments)}`` for the kernels compiled here."""
    from pygrad._native import kernels as native
    from pygrad._pure import kernels as pure

    found = {}
    for name, fn in sorted(vars(native).items()):
        twin = getattr(pure, name, None)
        if (name.startswith("_") or not callable(fn) or twin is None
                or getattr(fn, "__module__", None) != native.__name__):
            continue
        found[name] = (fn, twin, len(inspect.signature(twin).parameters))
    return found


def operands(nargs: int, dtype, size: int, layout: str):
    rng = np.random.default_rng(0)
    arrays = []
    for k in range(nargs):
        if layout == "strided":
            a = rng.uniform(0.5, 2.0, 2 * size).astype(dtype)[::2]
        elif layout == "broadcast" and k == nargs - 1 and nargs > 1:
            a = np.broadcast_to(np.asarray(rng.uniform(0.5, 2.0), dtype), (size,))
        else:
            a = rng.uniform(0.5, 2.0, size).astype(dtype)
        arrays.append(a)
    return arrays


def best_time(fn, args, budget: float) -> float:
    """The best per-call time over batches that each take about ``budget`` seconds."""
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn(*args)
        elapsed = time.perf_counter() - start
        if elapsed >= budget / 5 or number >= 1 << 20:
            return elapsed / number
        number *= 4


def ratio(native, pure, args, repeats: int, budget: float) -> tuple[float, float, float]:
    """Interleaved best times of the two kernels and native's ratio to pure."""
    best_native = best_pure = float("inf")
    with np.errstate(all="ignore"):
        for _ in range(repeats):
            best_native = min(best_native, best_time(native, args, budget))
            best_pure = min(best_pure, best_time(pure, args, budget))
    return best_native, best_pure, best_native / best_pure


def run(sizes, repeats: int, budget: float, limit: float | None, out=sys.stdout) -> list[str]:
    kernels = compiled_kernels()
    over = []
    print(f"{'kernel':24} {'dtype':8} {'size':>9} {'layout':11} {'native us':>10} {'pure us':>10} {'ratio':>6}",
          file=out)
    for name, (native, pure, nargs) in kernels.items():
        for dtype in DTYPES:
            for size in sizes:
                for layout in LAYOUTS:
                    if layout != "contiguous" and (size == 1 or (layout == "broadcast" and nargs == 1)):
                        continue
                    args = operands(nargs, dtype, size, layout)
                    t_native, t_pure, r = ratio(native, pure, args, repeats, budget)
                    tries = 1
                    while limit is not None and r > limit and tries < 3:
                        t_native, t_pure, r = ratio(native, pure, args, repeats, budget)
                        tries += 1
                    flag = "  OVER" if limit is not None and r > limit else ""
                    line = (f"{name:24} {np.dtype(dtype).name:8} {size:>9} {layout:11} "
                            f"{t_native * 1e6:>10.2f} {t_pure * 1e6:>10.2f} {r:>6.2f}{flag}")
                    print(line, file=out, flush=True)
                    if flag:
                        over.append(line)
    return over


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pygrad.bench.kernels", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats")
    parser.add_argument("--limit", type=float, help="fail when native/pure exceeds this ratio")
    args = parser.parse_args(argv)
    sizes, repeats, budget = (QUICK_SIZES, 3, 0.01) if args.quick else (SIZES, 7, 0.05)
    over = run(sizes, repeats, budget, args.limit)
    if over:
        print(f"\n{len(over)} case(s) where the compiled kernel is more than {args.limit}x slower "
              "than NumPy:", *over, sep="\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
