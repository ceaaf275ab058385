"""Choosing the backend: environment variables, the fallback warning, switching at run time."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pygrad
from pygrad import _backend
from pygrad._pure import engine as pure_engine
from pygrad._pure import kernels as pure_kernels

ROOT = Path(__file__).resolve().parents[1]
NATIVE_BUILT = "native" in _backend.available()
needs_native = pytest.mark.skipif(not NATIVE_BUILT, reason="compiled modules not built")

# Makes every import of the compiled package fail, as on a machine without the build.
BLOCK_NATIVE = """
import sys
class BlockNative:
    def find_spec(self, name, path=None, target=None):
        if name == "pygrad._native" or name.startswith("pygrad._native."):
            raise ImportError("No module named " + repr(name))
        return None
sys.meta_path.insert(0, BlockNative())
"""


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("PYGRAD_PURE", "PYGRAD_REQUIRE_NATIVE")}
    environ.update(env)
    environ["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=120)


def public_functions(module) -> set:
    return {name for name, value in vars(module).items()
            if not name.startswith("_") and callable(value)
            and getattr(value, "__module__", None) == module.__name__}


def test_pure_env_selects_pure():
    proc = run_python("import pygrad; print(pygrad.backend())", PYGRAD_PURE="1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "pure"
    assert "RuntimeWarning" not in proc.stderr


@pytest.mark.parametrize("value", ["true", "YES", " on "])
def test_pure_env_accepts_spellings(value):
    proc = run_python("import pygrad; print(pygrad.backend())", PYGRAD_PURE=value)
    assert proc.stdout.strip() == "pure", proc.stderr


def test_pure_env_rejects_unknown_value():
    proc = run_python("import pygrad", PYGRAD_PURE="maybe")
    assert proc.returncode != 0
    assert "ValueError: PYGRAD_PURE='maybe' is not understood" in proc.stderr


@needs_native
def test_default_is_native_when_built():
    proc = run_python("import pygrad; print(pygrad.backend())")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "native"


@needs_native
@pytest.mark.parametrize("preset,expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_native_makes_idle_openmp_threads_sleep_unless_told_otherwise(preset, expected):
    env = {} if preset is None else {"OMP_WAIT_POLICY": preset}
    code = "import os, pygrad; print(pygrad.backend(), os.environ['OMP_WAIT_POLICY'])"
    proc = run_python(code, **env) if preset else _run_without_wait_policy(code)
    assert proc.stdout.split() == ["native", expected], proc.stderr


def _run_without_wait_policy(code: str) -> subprocess.CompletedProcess:
    saved = os.environ.pop("OMP_WAIT_POLICY", None)
    try:
        return run_python(code)
    finally:
        if saved is not None:
            os.environ["OMP_WAIT_POLICY"] = saved


@needs_native
def test_pure_zero_means_native():
    proc = run_python("import pygrad; print(pygrad.backend())", PYGRAD_PURE="0")
    assert proc.stdout.strip() == "native", proc.stderr


def test_missing_native_warns_and_runs_pure():
    code = BLOCK_NATIVE + "import pygrad; print(pygrad.backend()); print((pygrad.tensor(2.0) * 3).item())"
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["pure", "6.0"]
    assert "RuntimeWarning: pygrad's compiled modules are not available" in proc.stderr


def test_require_native_raises_when_missing():
    proc = run_python(BLOCK_NATIVE + "import pygrad", PYGRAD_REQUIRE_NATIVE="1")
    assert proc.returncode != 0
    assert "ImportError: PYGRAD_REQUIRE_NATIVE is set but the compiled modules of pygrad did not load" \
        in proc.stderr


@needs_native
def test_require_native_passes_when_built():
    proc = run_python("import pygrad; print(pygrad.backend())", PYGRAD_REQUIRE_NATIVE="1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "native"


@needs_native
def test_native_kernels_export_every_pure_kernel():
    native_kernels, _ = _backend.load("native")
    missing = {name for name in public_functions(pure_kernels) if not callable(getattr(native_kernels, name, None))}
    assert not missing
    assert "accumulate" in public_functions(pure_kernels)  # the set compared is not empty


@needs_native
def test_native_engine_exports_every_pure_engine_function():
    _, native_engine = _backend.load("native")
    names = public_functions(pure_engine)
    assert "run_backward" in names
    assert all(callable(getattr(native_engine, name, None)) for name in names)


@needs_native
def test_native_kernels_are_compiled():
    native_kernels, native_engine = _backend.load("native")
    for fn in (native_kernels.add, native_kernels.tanh_backward, native_kernels.accumulate,
               native_engine.run_backward):
        assert type(fn).__name__ == "cython_function_or_method"


@needs_native
def test_uncompiled_kernel_falls_back_to_pure(monkeypatch):
    # A kernel that exists only in the pure module is re-exported by the compiled one.
    import importlib

    def brand_new_kernel(a):
        return a + 1
    brand_new_kernel.__module__ = pure_kernels.__name__
    monkeypatch.setattr(pure_kernels, "brand_new_kernel", brand_new_kernel, raising=False)
    native_kernels = importlib.import_module("pygrad._native.kernels")
    native_kernels._reexport_missing()
    try:
        assert native_kernels.brand_new_kernel is brand_new_kernel
    finally:
        del native_kernels.brand_new_kernel


def test_use_switches_and_restores(backend):
    other = "pure" if backend == "native" else backend
    with _backend.use(other):
        assert pygrad.backend() == other
        assert _backend.kernels.add is _backend.load(other)[0].add
    assert pygrad.backend() == backend
    assert _backend.kernels.add is _backend.load(backend)[0].add


def test_use_rejects_unknown_backend():
    with pytest.raises(ValueError, match="unknown backend 'fast'"):
        _backend.use("fast")


def _copy_without_compiled_modules(dest: Path) -> Path:
    import shutil
    shutil.copytree(ROOT / "pygrad", dest / "pygrad",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "*.c", "__pycache__"))
    return dest


@pytest.mark.parametrize("marked", [True, False])
def test_a_pure_build_runs_pure_without_a_warning(tmp_path, marked):
    # setup.py leaves _native/PURE_BUILD in a PYGRAD_PURE=1 build; an unbuilt tree has no marker.
    root = _copy_without_compiled_modules(tmp_path)
    if marked:
        (root / "pygrad" / "_native" / "PURE_BUILD").write_text("pure\n")
    environ = {k: v for k, v in os.environ.items() if k not in ("PYGRAD_PURE", "PYGRAD_REQUIRE_NATIVE")}
    environ["PYTHONPATH"] = str(root)
    proc = subprocess.run([sys.executable, "-c", "import pygrad; print(pygrad.backend())"], cwd=tmp_path,
                          env=environ, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "pure"
    assert ("RuntimeWarning" in proc.stderr) is not marked
