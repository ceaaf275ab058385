"""The public surface for type checkers: ``__all__`` of the public modules, and ``mypy --strict``
on a user-style program (tests/typing/).  The mypy tests skip when mypy is not installed."""
from __future__ import annotations

import importlib
import os
import re
import types
from pathlib import Path

import pytest

import pygrad

ROOT = Path(__file__).resolve().parent.parent
TYPING = ROOT / "tests" / "typing"

# The modules that are part of pygrad's namespace.  Other modules become attributes of pygrad
# once imported (the implementation's, whose public names are exported one by one, and tools
# such as pygrad.viz, pygrad.bench, pygrad.demo), so they are not listed.
PUBLIC_SUBMODULES = {"autograd", "cuda", "linalg", "nn", "optim", "profiler", "return_types", "utils"}
PUBLIC_MODULES = ["pygrad.nn", "pygrad.nn.functional", "pygrad.nn.init", "pygrad.optim",
                  "pygrad.optim.lr_scheduler", "pygrad.autograd", "pygrad.autograd.functional", "pygrad.utils",
                  "pygrad.utils.data", "pygrad.nn.utils", "pygrad.nn.parallel", "pygrad.linalg", "pygrad.profiler",
                  "pygrad.distributed"]


def test_pygrad_all_lists_every_public_name_and_only_those():
    assert len(pygrad.__all__) == len(set(pygrad.__all__))
    missing = [name for name in pygrad.__all__ if not hasattr(pygrad, name)]
    assert not missing, f"in pygrad.__all__ but not defined: {missing}"
    public = {name for name, value in vars(pygrad).items()
              if not name.startswith("_") and name != "annotations"
              and (not isinstance(value, types.ModuleType) or name in PUBLIC_SUBMODULES)}
    unlisted = sorted(public - set(pygrad.__all__))
    assert not unlisted, f"public names of pygrad missing from __all__ (add them in pygrad/__init__.py): {unlisted}"
    assert PUBLIC_SUBMODULES <= set(pygrad.__all__)
    for tool in ("pygrad.bench", "pygrad.viz"):  # imported tools are not part of the namespace
        importlib.import_module(tool)
    assert "bench" not in pygrad.__all__ and "viz" not in pygrad.__all__
    for name in ("Tensor", "tensor", "zeros", "float32", "no_grad", "save"):
        assert name in pygrad.__all__
    scope: dict = {}
    exec("from pygrad import *", scope)
    assert scope["zeros"] is pygrad.zeros and scope["Tensor"] is pygrad.Tensor


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_public_module_all_is_complete(module_name):
    module = importlib.import_module(module_name)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, f"in {module_name}.__all__ but not defined: {missing}"
    defined_here = sorted(
        name for name, value in vars(module).items()
        if not name.startswith("_") and callable(value) and not isinstance(value, types.ModuleType)
        and (getattr(value, "__module__", "") == module_name
             or getattr(value, "__module__", "").startswith(module_name + "."))
        and name not in module.__all__)
    assert not defined_here, f"public callables of {module_name} missing from its __all__: {defined_here}"


def test_compiled_core_stub_declares_the_fields_of_both_layouts():
    """core.pyi types the fields that core.pxd declares and _pure/core.py lists."""
    stub = (ROOT / "pygrad" / "_native" / "core.pyi").read_text()
    pxd = (ROOT / "pygrad" / "_native" / "core.pxd").read_text()
    for cls, body in re.findall(r"cdef class (\w+):\n((?:    .*\n|\n)*)", pxd):
        fields = re.findall(r"cdef public [\w ]+? (\w+)(?:\s*#.*)?$", body, re.M)
        stub_body = re.search(rf"class {cls}:\n((?:    .*\n)*)", stub).group(1)
        declared = re.findall(r"^    (\w+): ", stub_body, re.M)
        assert sorted(fields) == sorted(declared), cls
    from pygrad._pure import core as pure
    assert sorted(pure.TensorBase.__slots__) == sorted(
        re.findall(r"^    (\w+): ", re.search(r"class TensorBase:\n((?:    .*\n)*)", stub).group(1), re.M)
        + ["__weakref__"])


def _mypy(*paths: Path) -> str:
    api = pytest.importorskip("mypy.api", reason="mypy is not installed")
    here = os.getcwd()
    os.chdir(ROOT)  # mypy finds this clone's pygrad in the current directory
    try:
        stdout, stderr, _ = api.run(["--strict", "--follow-imports=silent", "--no-error-summary",
                                     "--show-error-codes", "--no-pretty", *map(str, paths)])
    finally:
        os.chdir(here)
    assert not stderr, stderr
    return stdout


@pytest.fixture(scope="module")
def mypy_output() -> str:
    """One run over the user programs and the whole package (mypy reads all of pygrad for the
    programs anyway)."""
    return _mypy(TYPING / "user_program.py", TYPING / "rejected_program.py", Path("pygrad"))


# ``mypy --strict pygrad`` reported 2993 errors before the typing work of issue 17 and 2636 after
# (most are functions without annotations; counted by ``python -m mypy --strict pygrad``).  What a
# user's type checker reads first must be clean: no undefined names or names used as types that
# are not, in the modules that define the public surface.
PUBLIC_SURFACE = ("pygrad/__init__.py", "pygrad/tensor.py", "pygrad/dtypes.py", "pygrad/nn/functional.py",
                  "pygrad/_table_api.pyi", "pygrad/nn/_table_functional.pyi", "pygrad/distributed/__init__.py")


def test_mypy_strict_finds_no_undefined_names_in_the_public_surface(mypy_output):
    errors = [line for line in mypy_output.splitlines()
              if line.startswith(PUBLIC_SURFACE) and re.search(r"\[(name-defined|valid-type)\]$", line)]
    assert not errors, "\n".join(errors)


def test_mypy_strict_accepts_a_user_program(mypy_output):
    errors = [line for line in mypy_output.splitlines() if "user_program.py" in line]
    assert not errors, "\n".join(errors)


def test_mypy_strict_rejects_what_it_should(mypy_output):
    path = TYPING / "rejected_program.py"
    expected = {(i, m.group(1)) for i, line in enumerate(path.read_text().splitlines(), 1)
                for m in [re.search(r"# E: ([\w-]+)$", line)] if m}
    assert len(expected) >= 4
    found = {(int(m.group(1)), m.group(2)) for m in
             re.finditer(r"rejected_program\.py:(\d+): error: .*\[([\w-]+)\]$", mypy_output, re.M)}
    assert found == expected, mypy_output


def test_user_program_runs():
    import runpy
    runpy.run_path(str(TYPING / "user_program.py"), run_name="__main__")


def test_functional_type_declarations_are_current():
    from pygrad.ops.optable import functional_type_stub
    stub = (ROOT / "pygrad" / "nn" / "_table_functional.pyi").read_text()
    assert stub == functional_type_stub(), "regenerate as optable.functional_type_stub's docstring says"


def test_distributed_all_is_the_c10d_list():
    from pygrad import distributed
    from pygrad.distributed import distributed_c10d
    assert distributed.__all__ == distributed_c10d.__all__
