"""``python -m pygrad.bench.kernels``: every compiled kernel against its pure NumPy twin.

For each kernel that the compiled module defines itself, each dtype (float32, float64), size
and operand layout (contiguous; strided, a view of every other element; broadcast, a stride-0
``expand`` of one element, as in every ``sum().backward()``), the two are timed interleaved,
with the garbage collector on, and the median of their time ratios is reported.  With
``--limit R`` the run fails when a compiled kernel is more than R times slower than NumPy in
some case; a case over the limit is measured again (twice at most) before it counts, since a
shared machine is noisy.  CI runs ``--quick --limit 1.1`` with one OpenMP thread: the check is
of the loops against NumPy's, which run on one thread.
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


def _batch(fn, args, number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn(*args)
    return (time.perf_counter() - start) / number


def _calls_per_batch(fn, args, batch: float) -> int:
    """How many calls of ``fn`` take about ``batch`` seconds."""
    number = 1
    while True:
        elapsed = _batch(fn, args, number) * number
        if elapsed >= batch / 4 or number >= 1 << 20:
            return max(1, min(1 << 20, round(number * batch / max(elapsed, 1e-9))))
        number *= 4


def ratio(native, pure, args, rounds: int, batch: float) -> tuple[float, float, float]:
    """Native's time, pure's time and their ratio, each the median over ``rounds`` rounds; a round
    times one batch of each kernel back to back (in alternating order), so a burst of load on a
    shared machine slows both sides of the ratios it touches rather than one side of all of them."""
    with np.errstate(all="ignore"):
        number = max(_calls_per_batch(native, args, batch), _calls_per_batch(pure, args, batch))
        times_native, times_pure, ratios = [], [], []
        for k in range(rounds):
            if k % 2:
                t_pure = _batch(pure, args, number)
                t_native = _batch(native, args, number)
            else:
                t_native = _batch(native, args, number)
                t_pure = _batch(pure, args, number)
            times_native.append(t_native)
            times_pure.append(t_pure)
            ratios.append(t_native / t_pure)
    return float(np.median(times_native)), float(np.median(times_pure)), float(np.median(ratios))


def run(sizes, rounds: int, batch: float, limit: float | None, out=sys.stdout) -> list[str]:
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
                    t_native, t_pure, r = ratio(native, pure, args, rounds, batch)
                    tries = 1
                    while limit is not None and r > limit and tries < 3:  # load only ever slows one down
                        t_native, t_pure, r = min((t_native, t_pure, r), ratio(native, pure, args, rounds, batch),
                                                  key=lambda m: m[2])
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
    sizes, rounds, batch = (QUICK_SIZES, 7, 0.002) if args.quick else (SIZES, 15, 0.01)
    over = run(sizes, rounds, batch, args.limit)
    if over:
        print(f"\n{len(over)} case(s) where the compiled kernel is more than {args.limit}x slower "
              "than NumPy:", *over, sep="\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
