"""``python -m pygrad``: which pygrad this is, how it runs here, and where to start."""
from __future__ import annotations

import os
import platform
import sys

import numpy as np

import pygrad
from pygrad import _backend

_COMPILED = ("core", "engine", "kernels")


def compiled_modules() -> dict[str, str]:
    """The compiled modules loaded in this process: ``{name: file}``."""
    loaded = {}
    for name in _COMPILED:
        module = sys.modules.get(f"pygrad._native.{name}")
        if module is not None:
            loaded[name] = getattr(module, "__file__", "?")
    return loaded


def _backend_line() -> str:
    name = pygrad.backend()
    if name == "native":
        return "native (the compiled Cython modules)"
    if _backend.env_flag("PYGRAD_PURE"):
        why = "chosen with PYGRAD_PURE=1"
    elif "native" in _backend.available():
        why = "switched to in this process"
    else:
        why = "the compiled modules are not built: `pip install .` with a C compiler builds them"
    return f"pure (the NumPy fallback; {why})"


def built_with_openmp() -> bool:
    """Whether the compiled kernels were linked with OpenMP (they call ``omp_get_max_threads``;
    a build without OpenMP, as with macOS' default clang, has no such symbol)."""
    module = sys.modules.get("pygrad._native.kernels")
    if module is None:
        return False
    with open(module.__file__, "rb") as f:
        return b"omp_get_max_threads" in f.read()


def _threads_lines() -> list[str]:
    min_size = getattr(_backend.kernels, "PARALLEL_MIN_SIZE", None)
    if pygrad.backend() != "native" or min_size is None:
        return ["threads:           none of pygrad's own (the pure backend runs NumPy's loops; "
                "BLAS may use threads)"]
    if not built_with_openmp():
        return ["OpenMP threads:    none: built without OpenMP, the kernels run on one thread"]
    omp = os.environ.get("OMP_NUM_THREADS")
    threads = f"OMP_NUM_THREADS={omp}" if omp else f"OMP_NUM_THREADS unset: one per core ({os.cpu_count()} here)"
    return [f"OpenMP threads:    {threads}; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}",
            f"parallel from:     {min_size:,} elements (smaller arrays run on one thread)"]


def _fusion_line() -> str:
    """How large elementwise chains run: fused from which size, and whether their arithmetic
    is compiled to C here (a compiler found, and where the kernels are kept)."""
    from pygrad import fusion
    from pygrad.fusion import jit
    if not fusion.is_enabled():
        return "fusion:            off"
    line = f"fusion:            chains of {fusion.min_numel():,} elements or more"
    if _backend.fused_evaluator() is None:
        return line + ", evaluated from Python"
    if not fusion.jit_enabled():
        return line + "; their arithmetic as NumPy's loops (PYGRAD_FUSION_JIT=0)"
    if not jit.available():
        return line + "; their arithmetic as NumPy's loops (no C compiler found: set CC)"
    return line + f"; hot ones' arithmetic compiled with {jit.compiler_name()} into {jit.cache_dir()}"


def report() -> str:
    """The text ``python -m pygrad`` prints."""
    loaded = compiled_modules()
    lines = [
        f"pygrad {pygrad.__version__} (the pygrad-autodiff distribution) from {os.path.dirname(pygrad.__file__)}",
        f"Python {platform.python_version()}, NumPy {np.__version__}",
        f"backend:           {_backend_line()}",
        "compiled modules:  " + (", ".join(loaded) if loaded else "none loaded"),
        *_threads_lines(),
        _fusion_line(),
        "",
        "Where to start:",
        "  python -m pygrad.demo                     train a small network, draw its graph, explain backward",
        "  python -m pygrad.demo --section tutorial  the autograd tutorial pygrad grew from, example by example",
        "  python -m pygrad.bench --quick            time pygrad against NumPy (and PyTorch when installed)",
        "  README.md                                 quick start, training, graph pictures, differences from PyTorch",
        "  import pygrad as torch                    then write PyTorch code",
    ]
    return "\n".join(lines)


def main() -> None:
    print(report())


if __name__ == "__main__":
    main()
