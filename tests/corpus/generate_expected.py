"""Record what PyTorch prints for every corpus program: ``python tests/corpus/generate_expected.py``.

Needs PyTorch.  Writes ``expected/<program>.txt``; a program that fails under PyTorch is an error
in the corpus, reported and not recorded.
"""
from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def programs(selected=()) -> list[str]:
    paths = sorted(glob.glob(os.path.join(HERE, "programs", "*.py")))
    return [p for p in paths if not selected or os.path.splitext(os.path.basename(p))[0] in selected]


def run_all(library: str, paths: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        out = os.path.join(scratch, "results.json")
        subprocess.run([sys.executable, os.path.join(HERE, "runner.py"), library, out, *paths], check=True,
                       cwd=HERE)
        with open(out) as f:
            return json.load(f)


def main(selected) -> int:
    failed = 0
    for name, result in run_all("torch", programs(selected)).items():
        if result["error"]:
            print(f"{name}: fails under torch: {result['error']}", file=sys.stderr)
            failed += 1
            continue
        with open(os.path.join(HERE, "expected", name + ".txt"), "w") as f:
            f.write(result["stdout"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
