"""The one place that chooses the kernel and engine implementations.

``PYGRAD_PURE=1`` (also ``true``/``yes``/``on``) selects the pure NumPy modules; otherwise
the compiled Cython modules are used when they were built.  If they are missing, pygrad
warns once and runs pure, unless ``PYGRAD_REQUIRE_NATIVE=1`` asks it to fail instead.

``core`` (the field layout of tensors and nodes) is chosen once, at import.
``kernels`` and ``engine`` are stable namespaces: the rest of pygrad binds them once and
``use()`` swaps their contents, so tests and benchmarks can compare both backends in one
process.  Nothing else imports ``_native`` or ``_pure`` directly.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING
import warnings

from . import _memory  # noqa: F401 - the C allocator's settings, before the first array

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def env_flag(name: str) -> bool:
    """Read an on/off environment variable, refusing values that are neither."""
    raw = os.environ.get(name, "")
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name}={raw!r} is not understood: use 1/true/yes to turn it on "
                     "or 0/false/empty to turn it off")


def load(name: str):
    """The ``(kernels, engine)`` modules of the backend ``"native"`` or ``"pure"``."""
    if name not in ("native", "pure"):
        raise ValueError(f"unknown backend {name!r}: expected 'native' or 'pure'")
    if name == "native":
        # OpenMP reads this when the kernels load. Its default lets idle threads spin, and
        # spinning kernel threads fight BLAS's own threads for the cores: a training step
        # that mixes matmul with large elementwise kernels ran 10x slower on 2 cores.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    package = f"pygrad._{name}"
    return (importlib.import_module(package + ".kernels"),
            importlib.import_module(package + ".engine"))


def _kernels_single_threaded() -> None:
    """In a child made by ``fork()``, run the compiled kernels on the calling thread only.

    The parent's OpenMP threads do not exist in the child, and GNU OpenMP waits for them
    forever in the child's first parallel loop (DataLoader-style workers, multiprocessing's
    fork start method); loops below the parallel threshold never start them.
    """
    native = sys.modules.get("pygrad._native.kernels")
    if native is not None:
        native.set_parallel_min_size(sys.maxsize)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_kernels_single_threaded)


def available() -> tuple[str, ...]:
    """The backends that can be loaded here."""
    names = []
    for name in ("native", "pure"):
        try:
            load(name)
        except ImportError:
            continue
        names.append(name)
    return tuple(names)


kernels = types.ModuleType("pygrad.kernels", "The elementwise kernels of the active backend.")
engine = types.ModuleType("pygrad.engine", "The reverse-mode engine of the active backend.")
name = ""
on_switch: list = []  # called after ``use()`` swapped the kernels (for tables that bind them)


def _install(backend: str) -> None:
    global name
    for proxy, module in zip((kernels, engine), load(backend)):
        proxy.__dict__.update({k: v for k, v in vars(module).items() if not k.startswith("__")})
    name = backend
    for listener in on_switch:
        listener()


def use(backend: str) -> contextlib.AbstractContextManager:
    """Switch to ``backend`` now; as a context manager, switch back on exit."""
    previous = name
    _install(backend)

    @contextlib.contextmanager
    def restore():
        try:
            yield
        finally:
            _install(previous)
    return restore()


def fused_evaluator():
    """The compiled evaluator of fused programs while the native backend is active (None on the
    pure backend, or when the build predates it)."""
    if name != "native":
        return None
    module = sys.modules.get("pygrad._native.fused")
    if module is None:
        try:
            module = importlib.import_module("pygrad._native.fused")
        except ImportError:
            return None
    return module


def _native_dir() -> Path:
    return Path(__file__).parent / "_native"


def _built_pure() -> bool:
    """True for an install built with PYGRAD_PURE=1 (setup.py leaves a marker in _native)."""
    return (_native_dir() / "PURE_BUILD").is_file()


def _choose() -> str:
    if env_flag("PYGRAD_PURE"):
        return "pure"
    try:
        load("native")
        return "native"
    except ImportError as exc:
        if env_flag("PYGRAD_REQUIRE_NATIVE"):
            raise ImportError(
                "PYGRAD_REQUIRE_NATIVE is set but the compiled modules of pygrad did not load "
                f"({exc}). Build them with `pip install .` (needs a C compiler), "
                "or `pip install -e .` in a clone.") from exc
        if _built_pure():
            return "pure"
        failed_build = _native_dir() / "NO_COMPILER"
        if failed_build.is_file():
            reason = failed_build.read_text().strip()
            warnings.warn("pygrad was installed without its compiled modules: the build could not "
                          f"compile them ({reason}). It runs on the pure NumPy backend: the same "
                          "results, more slowly. To get the compiled modules, install a C compiler "
                          "(gcc or clang) and reinstall pygrad; to choose the pure backend without "
                          "this warning, reinstall with PYGRAD_PURE=1.", RuntimeWarning, stacklevel=3)
            return "pure"
        warnings.warn(f"pygrad's compiled modules are not available ({exc}); running on the pure "
                      "NumPy backend. Set PYGRAD_PURE=1 to choose it explicitly.",
                      RuntimeWarning, stacklevel=3)
        return "pure"


# The layout of tensors and nodes (C members when compiled) is fixed for the process:
# ``use()`` switches kernels and engine only.  (Bound before the engines load: the pure
# engine imports the autograd classes, which derive from it.)
_chosen = _choose()
if TYPE_CHECKING:  # both layouts declare the same fields; the compiled one's stub types them
    from ._native import core
else:
    core = importlib.import_module(f"pygrad._{_chosen}.core")
_install(_chosen)
