"""A process forked after the compiled kernels ran on OpenMP threads does not hang."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pygrad import _backend

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import multiprocessing as mp
import pygrad
from pygrad import _backend

native = _backend.load("native")[0]

def work(queue):
    x = pygrad.ones(1 << 18, requires_grad=True)  # above the parallel threshold
    y = (x * 2 + 1).tanh()
    y.sum().backward()
    queue.put((float(y.sum().detach()), float(x.grad.sum()), native.PARALLEL_MIN_SIZE))

if __name__ == "__main__":
    work(mp.Queue())  # the parent's OpenMP threads are running from here on
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=work, args=(queue,))
    child.start()
    child.join(30)
    if child.is_alive():
        child.kill()
        print("hung")
    else:
        print("exit", child.exitcode, *queue.get(timeout=10))
        print("parent threshold", native.PARALLEL_MIN_SIZE)
"""


@pytest.mark.skipif("native" not in _backend.available(), reason="compiled modules not built")
@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() here")
def test_forked_child_runs_kernels_after_parent_used_openmp():
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="2", PYGRAD_PURE="0")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines[0] != "hung", "the forked child hung in its first parallel kernel"
    word, code, total, grad_total, threshold = lines[0].split()
    n = 1 << 18
    assert (word, code) == ("exit", "0")
    assert float(total) == pytest.approx(n * 0.99505475, rel=1e-5)  # tanh(3)
    assert float(grad_total) == pytest.approx(n * 2 * (1 - 0.99505475 ** 2), rel=1e-4)
    assert int(threshold) == sys.maxsize  # the child runs every loop on its own thread
    assert lines[1] == f"parent threshold {_backend.load('native')[0].PARALLEL_MIN_SIZE}"  # unchanged
