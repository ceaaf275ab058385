"""Build the Cython extension modules of pygrad.

Every ``pygrad/_native/*.pyx`` becomes an extension module.  ``PYGRAD_PURE=1`` at build
time skips them, giving a pure install that needs no compiler.
"""
import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PURE_MARKER = "PURE_BUILD"  # read by pygrad/_backend.py

HERE = Path(__file__).parent


def _pure_build() -> bool:
    return os.environ.get("PYGRAD_PURE", "").strip().lower() in {"1", "true", "yes", "on"}


def _openmp_flags():
    # OpenMP where the compiler has it (gcc and clang on Linux); never on macOS' default clang.
    if sys.platform.startswith("linux"):
        return ["-fopenmp"], ["-fopenmp"]
    return [], []


def extensions():
    sources = sorted((HERE / "pygrad" / "_native").glob("*.pyx"))
    if _pure_build() or not sources:
        return []
    import numpy
    from Cython.Build import cythonize
    from setuptools import Extension

    compile_omp, link_omp = _openmp_flags()
    modules = [
        Extension(
            f"pygrad._native.{src.stem}",
            [str(src.relative_to(HERE))],
            include_dirs=[numpy.get_include()],
            # NumPy 1.22's API: the oldest that declares PyDataMem_SetHandler (the buffer cache).
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
                           ("NPY_TARGET_VERSION", "NPY_1_22_API_VERSION")],
            # IEEE arithmetic so the compiled kernels agree with NumPy bit for bit.
            extra_compile_args=["-O3", "-ffp-contract=off", "-fno-fast-math"] + compile_omp,
            extra_link_args=link_omp,
        )
        for src in sources
    ]
    return cythonize(
        modules,
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )


class BuildPy(build_py):
    """A pure build leaves a marker, so the installed pygrad runs pure without warning that
    compiled modules it never had are missing."""

    def run(self):
        super().run()
        if _pure_build():
            marker = Path(self.build_lib) / "pygrad" / "_native" / PURE_MARKER
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text("built with PYGRAD_PURE=1: no compiled modules\n")


setup(ext_modules=extensions(), cmdclass={"build_py": BuildPy})
