"""``python -m pygrad.demo``: train a network with pygrad, written as PyTorch code.

Sections run in the order of ``SECTIONS``; ``--section NAME`` runs one of them.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import time
from pathlib import Path

# (name, title, function(ctx), part of the default run).  A new section is one more entry.
SECTIONS = [
    ("train", "Training a network on two spirals", "section_train", True),
    ("transfer", "Transfer learning: freeze the first layer, retrain the rest", "section_transfer", True),
    ("custom-loss", "A custom loss function", "section_custom_loss", True),
    ("pictures", "Loss curves", "section_pictures", True),
    ("graph", "Seeing the graph and its chain rule", "section_graph", True),
    ("tutorial", "The autograd tutorial, example by example", "section_tutorial", False),
    ("distributed", "Data-parallel training on several processes (mpiexec -n 2 ...)", "section_distributed", False),
]


def section_tutorial(ctx) -> None:
    from .tutorial import main as tutorial
    tutorial()


def section_graph(ctx) -> None:
    from .graph import main as graph
    graph(str(ctx.out_dir))


def section_distributed(ctx) -> None:
    from .distributed import section_distributed as distributed
    distributed(ctx)


def _function(name: str):
    if name in ("section_tutorial", "section_graph", "section_distributed"):
        return globals()[name]
    from . import training
    return getattr(training, name)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pygrad.demo",
        description="Train a small network with pygrad, written as PyTorch code: training,\n"
                    "transfer learning, a custom loss, loss curves and the computational graph\n"
                    "with its chain rule. --section NAME runs one part; --section tutorial walks\n"
                    "through the autograd tutorial pygrad grew from.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="sections: " + ", ".join(f"{n} ({'default' if d else 'on request'})" for n, _, _, d in SECTIONS)
        + "; 'all' runs every section")
    parser.add_argument("--epochs", type=int, default=100, help="training epochs (default: 100)")
    parser.add_argument("--backend", choices=("native", "pure"), default=None,
                        help="kernels and engine to use (default: native when built, else pure)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the data, the weights and shuffling")
    parser.add_argument("--section", action="append", choices=[s[0] for s in SECTIONS] + ["all"],
                        help="run only this section (repeatable)")
    parser.add_argument("--quiet", action="store_true", help="only the result lines: no bars, maps or code")
    parser.add_argument("--out-dir", type=Path, default=Path("pygrad-demo-output"),
                        help="where the checkpoint and the pictures go (default: ./pygrad-demo-output)")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    if args.backend is not None:
        from pygrad import _backend
        if args.backend not in _backend.available():
            parser.error(f"the {args.backend} backend is not available here "
                         "(`pip install .` builds the native one); try --backend pure")
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    from pygrad.distributed._mpi import launcher_rank
    if launcher_rank() > 0:  # started by mpiexec: rank 0 speaks for all
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            return _run(args)
    return _run(args)


def _run(args: argparse.Namespace) -> dict:
    import pygrad
    if args.backend is not None and args.backend != pygrad.backend():
        pygrad._backend.use(args.backend)
    from .training import Context
    ctx = Context(epochs=args.epochs, seed=args.seed, quiet=args.quiet, out_dir=args.out_dir)
    chosen = args.section or ["default"]
    names = [n for n, _, _, default in SECTIONS
             if "all" in chosen or n in chosen or ("default" in chosen and default)]
    print(f"pygrad {pygrad.__version__} on the {pygrad.backend()} backend")
    start = time.perf_counter()
    for name, title, function, _ in SECTIONS:
        if name not in names:
            continue
        print(f"\n== {title} ==\n")
        _function(function)(ctx)
    ctx.results["seconds"] = time.perf_counter() - start
    print(f"\ndone in {ctx.results['seconds']:.1f} s")
    if names != [s[0] for s in SECTIONS]:
        print("(python -m pygrad.demo --section tutorial walks through the autograd tutorial; --help lists options)")
    return ctx.results


if __name__ == "__main__":
    main()
