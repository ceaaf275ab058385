"""The C allocator's settings (pygrad/_memory.py): on glibc, arrays freed and allocated again at
the same sizes reuse pages already mapped, instead of a page fault per 4 KiB each time."""
import os
import subprocess
import sys

import numpy as np
import pytest

import pygrad  # noqa: F401 - applies the settings
from pygrad import _memory

GLIBC = sys.platform.startswith("linux") and bool(os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else "")
resource = pytest.importorskip("resource")


def _faults_of(fn, times: int) -> float:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(times):
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / times


@pytest.mark.skipif(not GLIBC, reason="glibc's allocator only")
def test_arrays_of_a_training_loop_reuse_their_pages():
    assert _memory.tuned

    def step():  # a step's temporaries: 800 KB and 3 MB, written whole, then freed
        a = np.empty(200_000, np.float32)
        a.fill(1)
        b = np.empty(750_000, np.float32)
        b.fill(2)
        return float(a[-1] + b[-1])

    step()
    pages = (800_000 + 3_000_000) // 4096
    assert _faults_of(step, 20) < pages / 10  # without the settings: every page, every step


def _tuned_in_child(**env) -> str:
    code = "import pygrad._memory as m; print(m.tuned)"
    where = os.path.dirname(os.path.dirname(pygrad.__file__))  # the pygrad this process runs
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": where, **env},
                         capture_output=True, text=True, check=True, cwd=os.path.dirname(where))
    return out.stdout.strip()


@pytest.mark.skipif(not GLIBC, reason="glibc's allocator only")
def test_the_environment_can_keep_glibcs_defaults():
    assert _tuned_in_child(PYGRAD_MALLOC_TUNING="0") == "False"
    assert _tuned_in_child(PYGRAD_MALLOC_TUNING="1") == "True"
