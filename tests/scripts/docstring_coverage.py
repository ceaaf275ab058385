"""How many of pygrad's public callables have a docstring: the functions and classes each public
module exports, and the public methods and properties of those classes that pygrad defines (a
method without its own counts the one it overrides, which ``help()`` shows).

``python tests/scripts/docstring_coverage.py [-v]`` prints the count (``-v``: the ones without).
"""
from __future__ import annotations

import functools
import importlib
import inspect
import os
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

MODULES = ["pygrad", "pygrad.utils", "pygrad.nn", "pygrad.nn.functional", "pygrad.nn.init", "pygrad.nn.utils",
           "pygrad.optim", "pygrad.optim.lr_scheduler", "pygrad.autograd", "pygrad.autograd.functional",
           "pygrad.autograd.graph", "pygrad.utils.data", "pygrad.viz", "pygrad.return_types", "pygrad.cuda",
           "pygrad.linalg", "pygrad.profiler", "pygrad.distributed", "pygrad.nn.parallel", "pygrad.utils.checkpoint",
           "pygrad.func"]


def _module(name: str) -> types.ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:  # pygrad.cuda is made at run time
        return functools.reduce(getattr, name.split(".")[1:], importlib.import_module("pygrad"))


def _own_doc(obj) -> bool:
    doc = obj.__dict__.get("__doc__") if isinstance(obj, type) else getattr(obj, "__doc__", None)
    return bool(doc and doc.strip())


def _is_pygrad(obj) -> bool:
    return (getattr(obj, "__module__", None) or "").startswith("pygrad")


def public_callables() -> dict[str, object]:
    """``qualified name -> object`` for every public callable, each object once."""
    found, seen = {}, set()

    def add(name, obj):
        key = id(obj.fget) if isinstance(obj, property) else id(obj)
        if key not in seen:
            seen.add(key)
            found[name] = obj

    for module_name in MODULES:
        module = _module(module_name)
        names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
        for name in names:
            obj = getattr(module, name, None)
            if isinstance(obj, types.ModuleType) or not callable(obj) or not _is_pygrad(obj):
                continue
            add(f"{module_name}.{name}", obj)
            if isinstance(obj, type):
                for klass in obj.__mro__:
                    if not _is_pygrad(klass):
                        continue
                    for attr, value in vars(klass).items():
                        if attr.startswith("_") and attr != "__init__":
                            continue
                        if attr == "__init__":
                            continue  # documented by the class docstring
                        if isinstance(value, (staticmethod, classmethod)):
                            value = value.__func__
                        if isinstance(value, property) or inspect.isfunction(value) or inspect.isbuiltin(value) \
                                or inspect.ismethoddescriptor(value):
                            add(f"{module_name}.{obj.__name__}.{attr}", value)
    return found


def _has_doc(name: str, obj) -> bool:
    """Its own docstring; a method also counts the one it overrides, as ``help()`` shows it."""
    if isinstance(obj, property):
        return bool(obj.__doc__ and obj.__doc__.strip())
    if _own_doc(obj):
        return True
    module_name, _, rest = name.rpartition(".")
    owner_name, _, attr = module_name.rpartition(".")
    owner = getattr(_module(owner_name), attr, None) if owner_name in MODULES else None
    if isinstance(owner, type):
        import inspect
        return bool(inspect.getdoc(getattr(owner, rest, None)))
    return False


def coverage() -> tuple[int, int, list[str]]:
    found = public_callables()
    missing = sorted(name for name, obj in found.items() if not _has_doc(name, obj))
    return len(found) - len(missing), len(found), missing


if __name__ == "__main__":
    documented, total, missing = coverage()
    print(f"{documented} of {total} public callables have a docstring ({100 * documented / total:.0f}%)")
    if "-v" in sys.argv:
        print("\n".join(missing))
