"""``python -m pygrad.bench``: W1-W7 on pygrad (native and pure), PyTorch and NumPy in one run.

For each thread count the harness re-runs itself in a subprocess whose BLAS/OpenMP thread
variables are set before NumPy or PyTorch is imported; that worker checks every library's
gradients against a float64 NumPy reference (and stops on a mismatch), times each library,
and hands its records back as JSON.  The parent prints a markdown report.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .machine import THREAD_VARIABLES, machine
from .runner import FLOOR, LIBRARIES
from .workloads import WORKLOADS


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _threads(text: str) -> list[int]:
    try:
        counts = [int(part) for part in _list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected thread counts like 1,2; got {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"thread counts must be positive integers; got {text!r}")
    return counts


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pygrad.bench",
        description="Benchmark pygrad (native and pure backends) against PyTorch and hand-written NumPy "
                    "on the workloads W1-W7, after checking every library's gradients.")
    parser.add_argument("--quick", action="store_true", help="smoke run: small sizes, few samples")
    parser.add_argument("--workloads", type=_list, default=list(WORKLOADS),
                        help="comma-separated subset of " + ",".join(WORKLOADS) + " (default: all)")
    parser.add_argument("--threads", type=_threads, default=[1, 2],
                        help="comma-separated thread counts to pin, one subprocess each (default: 1,2)")
    parser.add_argument("--libraries", type=_list, default=list(LIBRARIES),
                        help="comma-separated subset of " + ",".join(LIBRARIES) + " (default: all)")
    parser.add_argument("--gc", choices=("on", "off", "both"), default="on",
                        help="the garbage collector while timing: on, as programs run (default), off, "
                             "as timeit runs, or both")
    parser.add_argument("--json", nargs="?", const="-", metavar="PATH",
                        help="write the raw records as JSON to PATH; with no PATH, print them "
                             "instead of the markdown report")
    parser.add_argument("--plot", metavar="OUT.png|OUT.svg",
                        help="write a bar chart of the ratios (needs matplotlib)")
    parser.add_argument("--worker", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = [w for w in args.workloads if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    unknown = [lib for lib in args.libraries if lib not in LIBRARIES]
    if unknown:
        parser.error(f"unknown librar(ies) {', '.join(unknown)}; choose from {', '.join(LIBRARIES)}")
    if args.plot:
        if Path(args.plot).suffix.lower() not in (".png", ".svg"):
            parser.error("--plot writes .png or .svg files")
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error("--plot needs matplotlib, which is not installed "
                         "(pip install matplotlib, or pygrad[plot]); nothing was run")
    if args.worker and len(args.threads) != 1:
        parser.error("a worker runs one thread count")
    return args


def worker(args) -> int:
    """Run in this process (thread variables already set) and write the records to ``args.worker``."""
    from .machine import blas, describe_blas, versions
    from .runner import run
    from .workloads import GradientMismatch

    (threads,) = args.threads
    try:
        records = run(args.workloads, args.libraries, threads, args.quick,
                      progress=lambda msg: print(f"  timing {msg}", file=sys.stderr, flush=True),
                      collector_modes=("on", "off") if args.gc == "both" else (args.gc,))
    except GradientMismatch as exc:
        print(f"gradient check failed: {exc}", file=sys.stderr)
        return 3
    payload = {"threads": threads, "blas": describe_blas(blas()), "versions": versions(), "records": records}
    Path(args.worker).write_text(json.dumps(payload))
    return 0


def _worker_env(threads: int) -> dict:
    import pygrad
    env = dict(os.environ)
    for name in THREAD_VARIABLES:
        env[name] = str(threads)
    # The worker must import this very pygrad, wherever it was imported from.
    root = str(Path(pygrad.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def _worker_groups(libraries):
    """(libraries, pure) per worker process.  pygrad chooses the layout of its tensors and
    nodes (compiled or pure) once, at import, so the pure backend is timed in a process
    started with PYGRAD_PURE=1: in the others it would run on the compiled layout."""
    others = [lib for lib in libraries if lib != "pygrad-pure"]
    groups = [(others, False)] if others else []
    if "pygrad-pure" in libraries:
        groups.append((["pygrad-pure"], True))
    return groups


def _merge(parts, libraries) -> dict:
    """One worker result from several: records ordered by workload, size, then library."""
    merged = dict(parts[0])
    # Each worker times the copy floor; keep the first worker's.
    records = list(parts[0]["records"]) + [r for part in parts[1:] for r in part["records"]
                                           if r["library"] != FLOOR]
    first = {}
    for r in records:
        first.setdefault((r["workload"], r["label"]), len(first))
    rank = {lib: i for i, lib in enumerate(libraries)}
    records.sort(key=lambda r: (first[(r["workload"], r["label"])], rank.get(r["library"], len(rank))))
    merged["records"] = records
    return merged


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for threads in args.threads:
            parts = []
            for libraries, pure in _worker_groups(args.libraries):
                out = Path(tmp) / f"threads-{threads}-{'pure' if pure else 'main'}.json"
                cmd = [sys.executable, "-m", "pygrad.bench", "--worker", str(out), "--threads", str(threads),
                       "--workloads", ",".join(args.workloads), "--libraries", ",".join(libraries),
                       "--gc", args.gc]
                if args.quick:
                    cmd.append("--quick")
                print(f"running {len(args.workloads)} workload(s) with {threads} thread(s)"
                      + (" (pure pygrad, its own process)" if pure else ""), file=sys.stderr, flush=True)
                env = _worker_env(threads)
                if pure:
                    env["PYGRAD_PURE"] = "1"
                code = subprocess.run(cmd, env=env).returncode
                if code != 0:
                    print(f"benchmark run with {threads} thread(s) failed (exit code {code})", file=sys.stderr)
                    return code
                parts.append(json.loads(out.read_text()))
            results.append(_merge(parts, args.libraries))

    from . import report
    records = [r for result in results for r in result["records"]]
    meta = {"machine": machine(), "versions": results[0]["versions"], "quick": args.quick,
            "threads": args.threads, "gc": args.gc, "blas": {str(r["threads"]): r["blas"] for r in results}}
    document = {"meta": meta, "records": records, "ratios": report.ratios(records),
                "targets": report.targets(records)}
    if args.json == "-":
        print(json.dumps(document, indent=1))
    else:
        print(report.markdown(records, meta), end="")
        if args.json:
            Path(args.json).write_text(json.dumps(document, indent=1))
    if args.plot:
        report.plot(records, args.plot)
        print(f"plot written to {args.plot}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
