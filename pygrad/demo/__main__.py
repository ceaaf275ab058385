"""``python -m pygrad.demo``: walk through the autograd tutorial on pygrad."""
from __future__ import annotations

import argparse


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pygrad.demo", description=__doc__)
    parser.parse_args(argv)
    import pygrad
    from .tutorial import main as tutorial
    print(f"pygrad {pygrad.__version__} on the {pygrad.backend()} backend\n")
    tutorial()


if __name__ == "__main__":
    main()
