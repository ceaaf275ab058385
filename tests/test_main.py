"""``python -m pygrad``: version, backend, compiled modules, threads and where to start."""
import os
import subprocess
import sys
from pathlib import Path

import pygrad

ROOT = Path(__file__).resolve().parent.parent


def run(**env) -> str:
    full_env = {k: v for k, v in os.environ.items() if k != "PYGRAD_PURE"}
    full_env.update(PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-m", "pygrad"], capture_output=True, text=True, env=full_env,
                          cwd=ROOT, check=True).stdout


def test_reports_version_backend_modules_threads_and_where_to_start():
    out = run(OMP_NUM_THREADS="3")
    lines = out.splitlines()
    assert lines[0].startswith(f"pygrad {pygrad.__version__} (the pygrad-autodiff distribution) from ")
    assert str(ROOT / "pygrad") in lines[0]
    assert f"NumPy {__import__('numpy').__version__}" in lines[1]
    if "native" in pygrad._backend.available():
        assert "backend:           native (the compiled Cython modules)" in lines
        assert "compiled modules:  core, engine, kernels" in lines
        from pygrad.__main__ import built_with_openmp
        if built_with_openmp():
            assert "OpenMP threads:    OMP_NUM_THREADS=3; OMP_WAIT_POLICY=PASSIVE" in lines
            from pygrad._native.kernels import PARALLEL_MIN_SIZE
            assert f"parallel from:     {PARALLEL_MIN_SIZE:,} elements" in out
        else:
            assert "built without OpenMP" in out
    for start in ("python -m pygrad.demo", "--section tutorial", "README.md", "import pygrad as torch"):
        assert start in out


def _fusion_line(out) -> str:
    (line,) = [line for line in out.splitlines() if line.startswith("fusion:")]
    return line


def test_reports_how_large_chains_run():
    if "native" not in pygrad._backend.available():
        return
    from pygrad.fusion import jit
    line = _fusion_line(run(PYGRAD_FUSION_MIN_NUMEL="4096", PYGRAD_CACHE_DIR="/nonexistent-dir"))
    assert line.startswith("fusion:            chains of 4,096 elements or more; ")
    if jit.available():
        assert line.endswith(f"compiled with {jit.compiler_name()} into /nonexistent-dir/kernels")
    assert _fusion_line(run(CC="no-such-compiler-anywhere")).endswith("(no C compiler found: set CC)")
    assert _fusion_line(run(PYGRAD_FUSION_JIT="0")).endswith("as NumPy's loops (PYGRAD_FUSION_JIT=0)")
    assert _fusion_line(run(PYGRAD_FUSION="0")) == "fusion:            off"


def test_pure_backend_says_why_and_loads_no_compiled_module():
    out = run(PYGRAD_PURE="1")
    assert "backend:           pure (the NumPy fallback; chosen with PYGRAD_PURE=1)" in out
    assert "compiled modules:  none loaded" in out
    assert "threads:           none of pygrad's own" in out
    assert _fusion_line(out) == "fusion:            chains of 2,097,152 elements or more, evaluated from Python"
