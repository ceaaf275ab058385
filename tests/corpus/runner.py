"""Run corpus programs under a library and record what each prints.

``python runner.py torch|pygrad OUT.json PROGRAM.py ...`` runs every program in this one
process (the library is imported once) as ``__main__``, in a scratch directory, and writes
``{program name: {"stdout": ..., "error": ...}}``.  Under ``pygrad`` every ``torch`` and
``torch.*`` import resolves to ``pygrad`` and its submodules, as ``import pygrad as torch``
would.  The library's global state (default dtype, grad mode, print options) is reset between
programs.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.util
import io
import json
import os
import runpy
import sys
import tempfile
import traceback
import warnings


class _TorchAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``torch`` / ``torch.x.y`` imports give ``pygrad`` / ``pygrad.x.y``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        target_name = "pygrad" + fullname[len("torch"):]
        try:
            module = importlib.import_module(target_name)
        except ImportError:
            return None
        spec = importlib.util.spec_from_loader(fullname, self, is_package=hasattr(module, "__path__"))
        spec._target = module
        return spec

    def create_module(self, spec):
        return spec._target

    def exec_module(self, module):
        pass


def _library(name: str):
    if name == "pygrad":
        here = os.path.dirname(os.path.abspath(__file__))
        sys.path.insert(0, os.path.dirname(os.path.dirname(here)))  # the repository root
        sys.meta_path.insert(0, _TorchAlias())
    return importlib.import_module("torch")


def _reset(torch) -> None:
    torch.set_default_dtype(torch.float32)
    torch.set_grad_enabled(True)
    torch.set_printoptions(profile="default")
    torch.manual_seed(0)


def run(library: str, programs: list[str]) -> dict:
    torch = _library(library)
    results = {}
    for path in programs:
        name = os.path.splitext(os.path.basename(path))[0]
        out = io.StringIO()
        error = None
        _reset(torch)
        with tempfile.TemporaryDirectory() as scratch, contextlib.redirect_stdout(out), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cwd = os.getcwd()
            os.chdir(scratch)
            try:
                runpy.run_path(os.path.abspath(os.path.join(cwd, path)), run_name="__main__")
            except BaseException as e:  # noqa: BLE001 - a program's failure is a result, not a crash
                tb = traceback.extract_tb(e.__traceback__)
                where = next((f"{os.path.basename(f.filename)}:{f.lineno}" for f in reversed(tb)
                              if f.filename.endswith(os.path.basename(path))), "?")
                error = f"{type(e).__name__}: {e} (at {where})"
            finally:
                os.chdir(cwd)
        results[name] = {"stdout": out.getvalue(), "error": error}
    return results


if __name__ == "__main__":
    library, output, *paths = sys.argv[1:]
    with open(output, "w") as f:
        json.dump(run(library, paths), f, indent=1)
