"""``python -m pygrad.demo``: walk through the autograd tutorial on pygrad."""
from __future__ import annotations

import argparse


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pygrad.demo", description=__doc__)
    parser.add_argument("--out-dir", default="pygrad-demo-output",
                        help="where the demo writes its pictures (default: %(default)s)")
    args = parser.parse_args(argv)
    import pygrad
    from .tutorial import main as tutorial
    print(f"pygrad {pygrad.__version__} on the {pygrad.backend()} backend\n")
    tutorial()
    from .graph import main as graph
    graph(args.out_dir)


if __name__ == "__main__":
    main()
