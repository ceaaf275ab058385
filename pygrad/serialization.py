"""``pygrad.save`` / ``pygrad.load``: tensors and containers of them in a file that holds no code.

File format (a zip archive, version 1):

- ``pygrad.json``: ``{"format": "pygrad", "version": 1, "root": <value>}`` where a value is
  JSON null/bool/int/str, a list (Python list), or an object with one tag:
  ``{"$tensor": i, "requires_grad": b, "parameter": b}``, ``{"$ndarray": i}``,
  ``{"$float": "nan"|"inf"|"-inf"|<number>}``, ``{"$tuple": [...]}``, ``{"$size": [...]}``,
  ``{"$dict": [[key, value], ...], "ordered": b}``, ``{"$dtype": "float32"}``, or
  ``{"$pickle": true}`` (the whole object is in ``data.pkl``).
- ``arrays/<i>.npy``: the arrays, written and read by NumPy with ``allow_pickle=False``.

The same tensor saved twice is stored once and loads as one tensor.  Objects outside these
types (a whole ``Module``, a custom class) are pickled into ``data.pkl``; loading such a file
needs ``weights_only=False``, which runs the file's code: only do it for files you trust.
Tensors pickle without their graph.
"""
from __future__ import annotations

import io
import json
import math
import os
import pickle
import zipfile
from collections import OrderedDict
from typing import Any

import numpy as np

from . import dtypes
from .size import Size
from .tensor import Tensor

__all__ = ["save", "load"]

_FORMAT, _VERSION = "pygrad", 1


class _Unsupported(Exception):
    pass


class _Encoder:
    def __init__(self):
        self.arrays: list[np.ndarray] = []
        self.memo: dict[int, int] = {}

    def array(self, a: np.ndarray) -> int:
        self.arrays.append(np.array(a, order="C", copy=False) if a.flags.c_contiguous else a.copy(order="C"))
        return len(self.arrays) - 1

    def encode(self, obj) -> Any:
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, (int, np.integer)) and not isinstance(obj, np.bool_):
            return int(obj)
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, (float, np.floating)):
            v = float(obj)
            return {"$float": v if math.isfinite(v) else repr(v)}
        if isinstance(obj, Tensor):
            from .nn.parameter import Parameter
            if id(obj) not in self.memo:
                if obj._data.dtype.kind not in "biuf":
                    raise _Unsupported
                self.memo[id(obj)] = self.array(obj._data)
            return {"$tensor": self.memo[id(obj)], "requires_grad": obj.requires_grad,
                    "parameter": isinstance(obj, Parameter)}
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind not in "biuf":
                raise _Unsupported
            return {"$ndarray": self.array(obj)}
        if isinstance(obj, dtypes.dtype):
            return {"$dtype": obj.name}
        if isinstance(obj, Size):
            return {"$size": list(obj)}
        if type(obj) is tuple:
            return {"$tuple": [self.encode(v) for v in obj]}
        if type(obj) is list:
            return [self.encode(v) for v in obj]
        if type(obj) in (dict, OrderedDict):
            return {"$dict": [[self.encode(k), self.encode(v)] for k, v in obj.items()],
                    "ordered": type(obj) is OrderedDict}
        raise _Unsupported


class _Decoder:
    def __init__(self, arrays: dict[int, np.ndarray]):
        self.arrays = arrays
        self.memo: dict[int, Tensor] = {}

    def decode(self, value) -> Any:
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict) or len([k for k in value if k.startswith("$")]) != 1:
            raise ValueError(f"not a pygrad file: unexpected value {value!r:.80}")
        if "$float" in value:
            return float(value["$float"])
        if "$tensor" in value:
            i = value["$tensor"]
            if i not in self.memo:
                t = Tensor._wrap(self.arrays[i])
                if value.get("parameter"):
                    from .nn.parameter import Parameter
                    t = Parameter(t, bool(value.get("requires_grad")))
                elif value.get("requires_grad"):
                    t.requires_grad_(True)
                self.memo[i] = t
            return self.memo[i]
        if "$ndarray" in value:
            return self.arrays[value["$ndarray"]]
        if "$dtype" in value:
            return dtypes.as_dtype(value["$dtype"])
        if "$size" in value:
            return Size(value["$size"])
        if "$tuple" in value:
            return tuple(self.decode(v) for v in value["$tuple"])
        if "$dict" in value:
            cls = OrderedDict if value.get("ordered") else dict
            return cls((self._key(self.decode(k)), self.decode(v)) for k, v in value["$dict"])
        raise ValueError(f"not a pygrad file: unknown tag in {value!r:.80}")

    @staticmethod
    def _key(k):
        return tuple(k) if isinstance(k, list) else k


def save(obj, f) -> None:
    """Write ``obj`` to the path or binary file ``f`` (see the module doc for the format)."""
    encoder = _Encoder()
    try:
        root = encoder.encode(obj)
        pickled = None
    except _Unsupported:
        root, encoder = {"$pickle": True}, _Encoder()
        pickled = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    header = json.dumps({"format": _FORMAT, "version": _VERSION, "root": root}, allow_nan=False)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            _write(fh, header, encoder.arrays, pickled)
    else:
        _write(f, header, encoder.arrays, pickled)


def _write(fh, header: str, arrays: list[np.ndarray], pickled: bytes | None) -> None:
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as z:
        z.writestr("pygrad.json", header)
        for i, a in enumerate(arrays):
            buf = io.BytesIO()
            np.save(buf, a, allow_pickle=False)
            z.writestr(f"arrays/{i}.npy", buf.getvalue())
        if pickled is not None:
            z.writestr("data.pkl", pickled)


def load(f, map_location=None, *, weights_only: bool = True, mmap=None, **pickle_load_args):
    """Read what ``save`` wrote.  With ``weights_only=True`` (the default) no code from the file
    runs; a file holding pickled objects is refused.  ``map_location`` must be None or "cpu"."""
    if map_location is not None and str(map_location) != "cpu":
        raise RuntimeError(f"pygrad runs on the CPU only; cannot load to {map_location!r}")
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            return _read(fh, weights_only)
    return _read(f, weights_only)


def _read(fh, weights_only: bool):
    try:
        z = zipfile.ZipFile(fh)
    except zipfile.BadZipFile:
        raise pickle.UnpicklingError("not a file written by pygrad.save (not a zip archive)") from None
    with z:
        try:
            header = json.loads(z.read("pygrad.json"))
        except KeyError:
            raise pickle.UnpicklingError("not a file written by pygrad.save (no pygrad.json)") from None
        if header.get("format") != _FORMAT or header.get("version") != _VERSION:
            raise pickle.UnpicklingError(f"unsupported file format {header.get('format')!r} version "
                                         f"{header.get('version')!r}")
        root = header["root"]
        if isinstance(root, dict) and root.get("$pickle"):
            if weights_only:
                raise pickle.UnpicklingError(
                    "Weights only load failed. This file holds a pickled Python object, and unpickling can run "
                    "arbitrary code. Re-running `pygrad.load` with `weights_only` set to `False` will likely "
                    "succeed, but it can result in arbitrary code execution. Do it only if you got the file "
                    "from a trusted source.")
            return pickle.loads(z.read("data.pkl"))
        arrays = {}
        for name in z.namelist():
            if name.startswith("arrays/") and name.endswith(".npy"):
                arrays[int(name[len("arrays/"):-len(".npy")])] = np.load(io.BytesIO(z.read(name)), allow_pickle=False)
        return _Decoder(arrays).decode(root)
