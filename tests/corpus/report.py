"""Run the corpus under pygrad and count the programs that print the same text, the same numbers to
rounding, or something else: ``python tests/corpus/report.py [-v]``."""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from compare import classify  # noqa: E402
from generate_expected import HERE, programs, run_all  # noqa: E402


def outcomes() -> dict:
    result = {}
    for name, run in run_all("pygrad", programs()).items():
        with open(os.path.join(HERE, "expected", name + ".txt")) as f:
            expected = f.read()
        if run["error"]:
            result[name] = ("failing", run["error"])
        else:
            status, why = classify(run["stdout"], expected)
            result[name] = ("failing" if status == "different" else status, why)
    return result


if __name__ == "__main__":
    found = outcomes()
    counts = {k: sum(1 for s, _ in found.values() if s == k) for k in ("exact", "close", "failing")}
    print(f"{len(found)} programs: {counts['exact']} exact, {counts['close']} close to rounding, "
          f"{counts['failing']} failing")
    for name, (status, why) in sorted(found.items()):
        if status != "exact" or "-v" in sys.argv:
            print(f"  {name}: {status} {why}")
