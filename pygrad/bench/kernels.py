"""``python -m pygrad.bench.kernels``: every compiled kernel against its pure NumPy twin.

For each kernel that the compiled module defines itself, each dtype (float32, float64), size
(1, 100, 1e5, 1e6 elements) and operand layout, the two are timed interleaved, with the garbage
collector on, and the median of their time ratios is reported.  The layouts (``LAYOUTS``):
contiguous; strided (every other element of each operand); transposed (the first operand);
broadcast (the last operand a row against the batch, as a bias); stride-0 (the first operand an
``expand`` of one element, as the gradient in every ``sum().backward()``); 0-d (the last operand,
as in ``x * 2.5``).  At size 1 every operand is 0-d.

With ``--limit R`` the run fails when a compiled kernel is more than R times slower than NumPy in
some case.  A shared machine is noisy, and load only ever slows down the side it hits: a case
over the limit is measured again with more rounds (``RETRIES`` times at most), by the median of
the paired ratios and by the ratio of each side's fastest batch, and fails only if every
measurement is over.  The worst ratios are listed at the end.  ``--quick`` runs 1, 100 and 1e5
elements with fewer rounds, and of the kernels that are one NumPy ufunc only the cases where the
two can differ (see ``cases``).  CI runs ``--quick --limit 1.1`` with one OpenMP thread: the
check is of the loops against NumPy's, which run on one thread.
"""
from __future__ import annotations

import argparse
import inspect
import math
import sys
import time

import numpy as np

DTYPES = (np.float32, np.float64)
LAYOUTS = ("contiguous", "strided", "transposed", "broadcast", "stride-0", "0-d")
N_ARY_LAYOUTS = {"broadcast", "stride-0", "0-d"}  # layouts of one operand against others
SIZES = (1, 100, 100_000, 1_000_000)
# A quick run leaves out 1e6 elements: the loops run as at 1e5, and the compiled kernels take
# their result from the buffer cache where NumPy maps fresh pages; the full run measures it.
QUICK_SIZES = (1, 100, 100_000)
RETRIES = 5
QUICK_ALL_LAYOUTS = 100  # the largest size at which a quick run measures every layout of a one-ufunc kernel
IN_PLACE = {"accumulate"}  # kernels writing into their first operand: none of a read-only view


# Kernels of an optimizer's update, with number arguments besides the arrays (timed by W7).
WHOLE_STEP_KERNELS = frozenset({"adam_update", "add_scaled_"})
# Kernels along the rows of a matrix rather than elementwise (cross-entropy's): measured in these
# layouts of the matrix, on the operands ``row_operands`` makes.
ROW_KERNELS = frozenset({"log_softmax", "log_softmax_backward", "nll_rows", "nll_rows_backward"})
ROW_LAYOUTS = ("contiguous", "strided", "transposed")


def compiled_kernels():
    """``{name: (native, pure, number of array arguments, whether it is one NumPy ufunc)}`` for
    the kernels compiled here."""
    from pygrad._native import kernel_table
    from pygrad._native import kernels as native
    from pygrad._pure import kernels as pure

    found = {}
    for name, fn in sorted(vars(native).items()):
        twin = getattr(pure, name, None)
        if (name.startswith("_") or not callable(fn) or twin is None or name in WHOLE_STEP_KERNELS
                or getattr(fn, "__module__", None) != native.__name__):
            continue
        nargs = None if name in ROW_KERNELS else len(inspect.signature(twin).parameters)
        found[name] = (fn, twin, nargs, name in kernel_table.UFUNCS)
    return found


def cases(nargs: int | None, sizes=SIZES, layouts=LAYOUTS, one_ufunc: bool = False):
    """The (size, layout) pairs measured for a kernel of ``nargs`` array arguments (None: a row
    kernel).  A kernel that
    is ``one_ufunc`` runs NumPy's own loop on both backends except on small operands (where the
    calls differ) and contiguous large ones (the compiled one takes its result from the buffer
    cache): only those cases tell the two apart, and only those are measured of it in a quick run."""
    for size in sizes:
        for layout in layouts:
            if size == 1 and layout != "contiguous":
                continue  # one element: 0-d operands, whatever the layout
            if nargs is None and layout not in ROW_LAYOUTS:
                continue
            if layout in N_ARY_LAYOUTS and nargs == 1:
                continue
            if one_ufunc and size > QUICK_ALL_LAYOUTS and layout != "contiguous":
                continue
            yield size, layout


def matrix(size: int) -> tuple:
    """The 2-d shape of ``size`` elements closest to a square."""
    cols = math.isqrt(size)
    while size % cols:
        cols -= 1
    return (size // cols, cols)


def operands(nargs: int, dtype, size: int, layout: str) -> list:
    """Seeded arrays with values in [0.5, 2] (log, div and pow are smooth there)."""
    rng = np.random.default_rng(0)

    def values(shape):
        return rng.uniform(0.5, 2.0, shape).astype(dtype)

    if size == 1:
        return [values(()) for _ in range(nargs)]
    rows, cols = matrix(size)
    arrays = [values((rows, cols)) for _ in range(nargs)]
    if layout == "strided":
        arrays = [values((rows, 2 * cols))[:, ::2] for _ in range(nargs)]
    elif layout == "transposed":
        arrays[0] = values((cols, rows)).T
    elif layout == "broadcast":
        arrays[-1] = values((cols,))
    elif layout == "stride-0":
        arrays[0] = np.broadcast_to(values(()), (rows, cols))
    elif layout == "0-d":
        arrays[-1] = values(())
    return arrays


def row_operands(name: str, dtype, size: int, layout: str) -> list:
    """The arguments of the row kernel ``name`` on a matrix of ``size`` elements in ``layout``
    (its gradient too, in the same layout): seeded logits, one class index per row, the mean."""
    from pygrad._pure import kernels as pure

    rng = np.random.default_rng(0)
    rows, cols = matrix(size)

    def values():
        if layout == "strided":
            return rng.uniform(-2.0, 2.0, (rows, 2 * cols)).astype(dtype)[:, ::2]
        if layout == "transposed":
            return rng.uniform(-2.0, 2.0, (cols, rows)).astype(dtype).T
        return rng.uniform(-2.0, 2.0, (rows, cols)).astype(dtype)

    x = values()
    target = rng.integers(0, cols, rows)
    return {"log_softmax": lambda: [x, -1],
            "log_softmax_backward": lambda: [values(), pure.log_softmax(x, -1), -1],
            "nll_rows": lambda: [x, target, -100, True],
            "nll_rows_backward": lambda: [np.asarray(0.5, dtype), x, target, np.asarray(rows, dtype)]}[name]()


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


def ratio(native, pure, args, rounds: int, batch: float, fastest: bool = False) -> tuple[float, float, float]:
    """Native's time, pure's time and their ratio, each the median over ``rounds`` rounds; a round
    times one batch of each kernel back to back (in alternating order), so a burst of load on a
    shared machine slows both sides of the ratios it touches rather than one side of all of them.
    With ``fastest``, the ratio is also taken of each side's fastest batch (the one load slowed
    least), and the smaller of the two ratios counts."""
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
    r = float(np.median(ratios))
    if fastest:
        r = min(r, min(times_native) / min(times_pure))
    return float(np.median(times_native)), float(np.median(times_pure)), r


def run(kernels: dict, sizes, layouts, rounds: int, batch: float, limit: float | None, quick: bool,
        out=sys.stdout) -> list[tuple]:
    """Measure every case; the measured cases as (ratio, report line), in the order run."""
    print(f"{'kernel':24} {'dtype':8} {'size':>9} {'layout':11} {'native us':>10} {'pure us':>10} {'ratio':>6}",
          file=out)
    results = []
    arrays = {}
    for name, (native, pure, nargs, one_ufunc) in kernels.items():
        for dtype in DTYPES:
            for size, layout in cases(nargs, sizes, layouts, one_ufunc and quick):
                key = (nargs or name, dtype, size, layout)
                if key not in arrays:
                    arrays[key] = operands(*key) if nargs else row_operands(*key)
                args = arrays[key]
                if name in IN_PLACE and not args[0].flags.writeable:
                    continue
                measured = ratio(native, pure, args, rounds, batch)
                tries = 0
                while limit is not None and measured[2] > limit and tries < RETRIES:
                    # Again, with more rounds: over the limit only if every measurement is.
                    measured = min(measured, ratio(native, pure, args, 6 * rounds + 1, batch, fastest=True),
                                   key=lambda m: m[2])
                    tries += 1
                t_native, t_pure, r = measured
                flag = "  OVER" if limit is not None and r > limit else ""
                line = (f"{name:24} {np.dtype(dtype).name:8} {size:>9} {layout:11} "
                        f"{t_native * 1e6:>10.2f} {t_pure * 1e6:>10.2f} {r:>6.2f}{flag}")
                print(line, file=out, flush=True)
                results.append((r, line))
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pygrad.bench.kernels", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer and shorter rounds; large one-ufunc kernels contiguous only")
    parser.add_argument("--limit", type=float, help="fail when native/pure exceeds this ratio")
    parser.add_argument("--kernels", help="comma-separated kernel names (default: all)")
    parser.add_argument("--sizes", help=f"comma-separated sizes (default: {','.join(map(str, SIZES))})")
    parser.add_argument("--layouts", help=f"comma-separated layouts (default: {','.join(LAYOUTS)})")
    parser.add_argument("--worst", type=int, default=10, help="how many of the worst ratios to list")
    args = parser.parse_args(argv)
    kernels = compiled_kernels()
    if args.kernels:
        kernels = {name: kernels[name] for name in args.kernels.split(",")}
    sizes = tuple(int(float(s)) for s in args.sizes.split(",")) if args.sizes else QUICK_SIZES if args.quick else SIZES
    layouts = tuple(args.layouts.split(",")) if args.layouts else LAYOUTS
    rounds, batch = (5, 0.001) if args.quick else (15, 0.01)
    start = time.perf_counter()
    results = run(kernels, sizes, layouts, rounds, batch, args.limit, args.quick)
    worst = sorted(results, key=lambda r: -r[0])[:args.worst]
    print(f"\n{len(results)} cases in {time.perf_counter() - start:.0f} s; the worst native/pure ratios:",
          *(line for _, line in worst), sep="\n")
    over = [line for r, line in results if args.limit is not None and r > args.limit]
    if over:
        print(f"\n{len(over)} case(s) where the compiled kernel is more than {args.limit}x slower "
              "than NumPy:", *over, sep="\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
