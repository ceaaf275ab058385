"""``pygrad.save`` / ``pygrad.load``: tensors and containers of them in files that hold no code.

``save(obj, f, format=...)`` writes one of three formats; ``load`` recognises each by its content:

- ``"pygrad"`` (the default), a zip archive of stored (uncompressed) members:

  - ``pygrad.json``: ``{"format": "pygrad", "version": 2, "views": [[s, offset, shape, strides], ...],
    "root": <value>}``.  A value is JSON null/bool/int/str, a list (Python list), or an object with
    one tag: ``{"$tensor": i, "requires_grad": b, "parameter": b}`` and ``{"$ndarray": i}`` (view
    ``i`` of the table), ``{"$float": "nan"|"inf"|"-inf"|<number>}``, ``{"$tuple": [...]}``,
    ``{"$size": [...]}``, ``{"$dict": [[key, value], ...], "ordered": b}``, ``{"$dtype": "float32"}``,
    or ``{"$pickle": true}`` (the whole object is in ``data.pkl``).
  - ``storages/<s>.npy``: 1-D storages, written and read by NumPy's ``.npy`` format, never pickled.
    A view is ``(storage, offset, shape, strides)`` in elements, as in PyTorch, so tensors that
    share memory when saved (a view and its base) share it again when loaded.

  Version 1 files (one ``arrays/<i>.npy`` per tensor) still load.
- ``"torch"``: PyTorch's zip format (``_torch_format``), read by ``torch.load(f, weights_only=True)``;
  ``load`` also reads PyTorch's legacy non-zip format.
- ``"safetensors"``: a flat ``{name: tensor}`` dict (``_safetensors_format``, needs the optional
  ``safetensors`` package).

The same tensor saved twice is stored once and loads as one tensor.  Objects the pygrad format
cannot describe (a whole ``Module``, a custom class) are pickled into ``data.pkl``; loading such
a file needs ``weights_only=False``, which runs the file's code: only do it for files you trust.
Code in PyTorch files is never run: they are read by a restricted unpickler in every case.

``load`` refuses damaged or hostile files with ``CheckpointError`` (an ``UnpicklingError``
and a ``ValueError``): compressed members (bombs), unsafe or duplicate member names, sizes that
disagree with the declared shapes, views outside their storage, unsupported dtypes, malformed
headers.  Arrays are read straight into their final buffers; ``save`` writes a temporary file
next to the target and renames it, so an interrupted save leaves the previous file intact.
"""
from __future__ import annotations

import io
import json
import math
import os
import pickle
import secrets
import stat
from collections import OrderedDict
from typing import Any

import numpy as np

from . import dtypes
from ._safe_zip import Archive, CheckpointError
from ._storage import StorageTable, view_of
from .size import Size
from .tensor import Tensor

__all__ = ["save", "load", "CheckpointError"]

_FORMAT, _VERSION = "pygrad", 2
_HEADER_LIMIT = 64 << 20  # pygrad.json and data.pkl: refuse absurd sizes before reading them
_FORMATS = ("pygrad", "torch", "safetensors")


class _Unsupported(Exception):
    pass


class _Encoder:
    def __init__(self):
        self.storages = StorageTable()
        self.views: list[list] = []
        self.memo: dict[int, int] = {}
        self._keep: list = []  # objects whose id is a memo key stay alive while encoding

    def view(self, obj, array: np.ndarray) -> int:
        if id(obj) not in self.memo:
            if array.dtype.kind not in "biuf":
                raise _Unsupported
            storage, offset, shape, strides = self.storages.add(array)
            self.views.append([storage, offset, list(shape), list(strides)])
            self.memo[id(obj)] = len(self.views) - 1
            self._keep.append(obj)
        return self.memo[id(obj)]

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
            return {"$tensor": self.view(obj, obj._data), "requires_grad": obj.requires_grad,
                    "parameter": isinstance(obj, Parameter)}
        if isinstance(obj, np.ndarray):
            return {"$ndarray": self.view(obj, obj)}
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


def _malformed(what: str) -> CheckpointError:
    return CheckpointError(f"malformed pygrad.json: {what}")


class _Decoder:
    def __init__(self, view):
        self.view = view  # index -> ndarray
        self.tensors: dict[int, Tensor] = {}
        self.arrays: dict[int, np.ndarray] = {}

    def _index(self, value, tag: str) -> int:
        i = value[tag]
        if type(i) is not int:
            raise _malformed(f"{tag} must be an integer index, got {i!r:.80}")
        return i

    def decode(self, value) -> Any:
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if isinstance(value, float):
            return value
        tags = [k for k in value if k.startswith("$")] if isinstance(value, dict) else []
        if len(tags) != 1:
            raise _malformed(f"unexpected value {value!r:.80}")
        tag = tags[0]
        if tag == "$float":
            v = value[tag]
            if isinstance(v, bool) or not isinstance(v, (int, float, str)):
                raise _malformed(f"$float must be a number or a string, got {v!r:.80}")
            try:
                return float(v)
            except ValueError:
                raise _malformed(f"$float {v!r:.80} is not a number") from None
        if tag == "$tensor":
            i = self._index(value, tag)
            if i not in self.tensors:
                t = Tensor._wrap(self.view(i))
                requires_grad = value.get("requires_grad", False)
                if not isinstance(requires_grad, bool) or not isinstance(value.get("parameter", False), bool):
                    raise _malformed(f"requires_grad and parameter must be booleans in {value!r:.80}")
                if requires_grad and not t.dtype.is_floating_point:
                    raise _malformed(f"tensor {i} of dtype {t.dtype} cannot require grad")
                if value.get("parameter"):
                    from .nn.parameter import Parameter
                    t = Parameter(t, requires_grad)
                elif requires_grad:
                    t.requires_grad_(True)
                self.tensors[i] = t
            return self.tensors[i]
        if tag == "$ndarray":
            i = self._index(value, tag)
            if i not in self.arrays:
                self.arrays[i] = self.view(i)
            return self.arrays[i]
        if tag == "$dtype":
            name = value[tag]
            if not isinstance(name, str) or name not in dtypes._BY_NAME:
                raise _malformed(f"unknown dtype {name!r:.80}")
            return dtypes._BY_NAME[name]
        if tag == "$size":
            dims = value[tag]
            if not isinstance(dims, list) or not all(type(d) is int and d >= 0 for d in dims):
                raise _malformed(f"$size must be a list of non-negative integers, got {dims!r:.80}")
            return Size(dims)
        if tag == "$tuple":
            items = value[tag]
            if not isinstance(items, list):
                raise _malformed(f"$tuple must be a list, got {items!r:.80}")
            return tuple(self.decode(v) for v in items)
        if tag == "$dict":
            pairs = value[tag]
            if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                raise _malformed(f"$dict must be a list of [key, value] pairs, got {pairs!r:.80}")
            cls = OrderedDict if value.get("ordered") else dict
            out = cls()
            for k, v in pairs:
                key, item = self.decode(k), self.decode(v)
                try:
                    out[key] = item
                except TypeError:
                    raise _malformed(f"unhashable dict key {k!r:.80}") from None
            return out
        raise _malformed(f"unknown tag {tag!r:.80}")


def _check_format(format: str) -> None:  # noqa: A002 - the argument's public name
    if format not in _FORMATS:
        raise ValueError(f"unknown format {format!r}; expected one of {', '.join(map(repr, _FORMATS))}")


def save(obj, f, format: str = "pygrad") -> None:  # noqa: A002
    """Write ``obj`` to the path or binary file ``f``.

    ``format="pygrad"`` (default) writes tensors, NumPy arrays, numbers, strings, dtypes, sizes
    and lists/tuples/dicts of them without pickle (anything else is pickled, see the module doc);
    ``format="torch"`` writes PyTorch's checkpoint format for ``torch.load(f, weights_only=True)``;
    ``format="safetensors"`` writes a ``{name: tensor}`` dict with the ``safetensors`` package.
    A path is written atomically: a temporary file in the same directory, renamed when complete.
    """
    _check_format(format)
    if format == "torch":
        from ._torch_format import write
    elif format == "safetensors":
        from ._safetensors_format import write
    else:
        write = _write_pygrad
    if isinstance(f, (str, os.PathLike)):
        _write_atomically(os.fspath(f), lambda fh: write(obj, fh))
    else:
        write(obj, f)


def _write_atomically(path: str, write) -> None:
    target = os.path.realpath(path)  # a symlink keeps pointing at the file it names
    directory, name = os.path.split(target)
    tmp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
    # O_EXCL: never follow or reuse an existing file; mode 0o666 so the umask applies as for open().
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        if os.path.exists(target):  # a replaced file keeps its permissions, as when it is overwritten
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _write_pygrad(obj, fh) -> None:
    import zipfile
    encoder = _Encoder()
    try:
        root = encoder.encode(obj)
        pickled = None
    except _Unsupported:
        root, encoder = {"$pickle": True}, _Encoder()
        pickled = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    header = json.dumps({"format": _FORMAT, "version": _VERSION, "views": encoder.views, "root": root},
                        allow_nan=False)
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as z:
        z.writestr("pygrad.json", header)
        for i, storage in enumerate(encoder.storages.storages):
            big = storage.nbytes + 4096 > zipfile.ZIP64_LIMIT  # the .npy header adds at most 4 KiB
            with z.open(f"storages/{i}.npy", "w", force_zip64=big) as member:
                np.lib.format.write_array(member, storage, allow_pickle=False)
        if pickled is not None:
            z.writestr("data.pkl", pickled)


def load(f, map_location=None, *, weights_only: bool = True, mmap=None, **pickle_load_args):
    """Read a file ``save`` wrote, in any of its formats, or a file PyTorch's ``torch.save`` wrote.

    With ``weights_only=True`` (the default) no code from the file runs; a pygrad file holding
    pickled objects is refused.  PyTorch files are always read without running their code (only
    tensors, parameters, sizes, dtypes and containers).  ``map_location`` must be None or "cpu";
    ``mmap`` and extra pickle arguments are accepted, as PyTorch's, and ignored (arrays are read
    straight into memory).  Damaged or hostile files raise ``CheckpointError``.
    """
    if map_location is not None and str(map_location) != "cpu":
        raise RuntimeError(f"pygrad runs on the CPU only; cannot load to {map_location!r}")
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            return _read(fh, weights_only)
    return _read(f, weights_only)


def _read(fh, weights_only: bool):
    from . import _torch_format
    start = fh.tell() if fh.seekable() else None
    magic = fh.read(len(_torch_format.LEGACY_MAGIC))
    if start is not None:
        fh.seek(start)
    if len(magic) > 8 and magic[8:9] == b"{" and not magic.startswith(b"PK"):
        from ._safetensors_format import read
        return read(fh)
    if magic == _torch_format.LEGACY_MAGIC:
        return _torch_format.read_legacy(fh)
    if not magic.startswith(b"PK"):
        raise CheckpointError("not a checkpoint: not a zip archive" + (
            " (it looks like a raw pickle, which could run code: pygrad does not read raw pickles)"
            if magic[:1] == b"\x80" else ""))
    with Archive(fh) as archive:
        if "pygrad.json" in archive.infos:
            return _read_pygrad(archive, weights_only)
        if _torch_format.recognise(archive):
            return _torch_format.read(archive)
        raise CheckpointError("not a checkpoint: a zip archive with neither pygrad.json nor PyTorch's data.pkl")


def _read_pygrad(archive: Archive, weights_only: bool):
    try:
        header = json.loads(archive.read("pygrad.json", _HEADER_LIMIT))
    except (ValueError, RecursionError) as e:
        raise _malformed(f"not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise _malformed(f"expected an object, got {type(header).__name__}")
    if header.get("format") != _FORMAT or type(header.get("version")) is not int \
            or header["version"] not in (1, _VERSION):
        raise CheckpointError(f"unsupported file format {header.get('format')!r:.40} version "
                              f"{header.get('version')!r:.40}")
    if "root" not in header:
        raise _malformed("no root value")
    root = header["root"]
    allowed = {"pygrad.json", "data.pkl"}
    if isinstance(root, dict) and root.get("$pickle") is True:
        _check_members(archive, allowed)
        if weights_only:
            raise pickle.UnpicklingError(
                "Weights only load failed. This file holds a pickled Python object, and unpickling can run "
                "arbitrary code. Re-running `pygrad.load` with `weights_only` set to `False` will likely "
                "succeed, but it can result in arbitrary code execution. Do it only if you got the file "
                "from a trusted source.")
        return pickle.loads(archive.read("data.pkl", _HEADER_LIMIT))
    if header["version"] == 1:
        view = _version1_views(archive)
    else:
        view = _views(archive, header.get("views"))
    _check_members(archive, allowed | set(view.members))
    try:
        return _Decoder(view).decode(root)
    except RecursionError:
        raise _malformed("values nested too deeply") from None


def _check_members(archive: Archive, expected) -> None:
    unexpected = sorted(set(archive.infos) - set(expected))
    if unexpected:
        raise CheckpointError(f"refusing checkpoint: unexpected member {unexpected[0]!r:.200}")


class _StorageViews:
    """``views(i)``: the array of view ``i``, each storage read once (and only when used)."""

    def __init__(self, archive: Archive, table: list, members: list[str]):
        self.archive, self.table, self.members = archive, table, members
        self.storages: dict[int, np.ndarray] = {}

    def __call__(self, i: int) -> np.ndarray:
        if not 0 <= i < len(self.table):
            raise _malformed(f"view index {i} out of range (the file has {len(self.table)})")
        s, offset, shape, strides = self.table[i]
        if not 0 <= s < len(self.members):
            raise _malformed(f"storage index {s} out of range (the file has {len(self.members)})")
        if s not in self.storages:
            self.storages[s] = self.archive.read_npy(self.members[s])
        storage = self.storages[s]
        if offset is None:  # version 1: the whole array
            return storage
        if storage.ndim != 1:
            raise CheckpointError(f"damaged checkpoint: {self.members[s]!r} is not a 1-D storage")
        try:
            return view_of(storage, offset, shape, strides)
        except ValueError as e:
            raise _malformed(f"view {i}: {e}") from None


def _views(archive: Archive, table) -> _StorageViews:
    if not isinstance(table, list) or not all(
            isinstance(v, list) and len(v) == 4 and type(v[0]) is int for v in table):
        raise _malformed("views must be a list of [storage, offset, shape, strides]")
    count = 1 + max((v[0] for v in table), default=-1)
    return _StorageViews(archive, table, [f"storages/{i}.npy" for i in range(count)])


def _version1_views(archive: Archive) -> _StorageViews:
    # Version 1: arrays/<i>.npy, one whole array per tensor.
    count = len([n for n in archive.infos if n.startswith("arrays/")])
    return _StorageViews(archive, [[i, None, None, None] for i in range(count)],
                         [f"arrays/{i}.npy" for i in range(count)])
