"""PyTorch's checkpoint format (the zip ``torch.save`` writes), read and written without torch.

Layout: ``<archive>/data.pkl`` is a protocol-2 pickle of the object; each tensor in it is
``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)`` where
``storage`` is a persistent id ``("storage", torch.FloatStorage, key, location, numel)`` whose
bytes are the member ``<archive>/data/<key>``; ``byteorder`` says how they are laid out.

Reading uses a restricted unpickler, as ``torch.load(weights_only=True)`` does: the only globals
it resolves are pygrad's own stand-ins for the tensor-rebuilding functions, storage types, dtypes,
``torch.Size``, ``torch.device`` and ``collections.OrderedDict``; any other global (``os.system``,
a user class) is refused with an error naming it, so no code from the file ever runs.  BUILD,
SETITEM(S), APPEND(S) and ADDITEMS act only on the containers those globals make.

The legacy non-zip format (``_use_new_zipfile_serialization=False``) is read with the same
unpickler, its storages bounded by the file's size before they are allocated.

Writing produces the same pickle from pygrad objects (tensors, parameters, sizes, dtypes and
containers of them; anything else is refused rather than pickled), with every member stored
uncompressed and each storage's bytes aligned to 64 bytes as ``torch.save`` does, so
``torch.load(f, weights_only=True)`` and ``torch.load(f, mmap=True)`` both read the file.  This
writer, rather than ``torch.save``'s legacy non-zip format, is what current PyTorch reads by
default and what pygrad reads back with the same checked code path.
"""
from __future__ import annotations

import io
import pickle
import struct
import sys
import zipfile
from collections import OrderedDict

import numpy as np

from . import dtypes
from ._arrays import checked_array
from ._device import device
from ._safe_zip import Archive, CheckpointError
from ._storage import StorageTable, view_of
from .size import Size
from .tensor import Tensor

__all__ = ["recognise", "read", "read_legacy", "LEGACY_MAGIC", "write"]

_PICKLE_LIMIT = 64 << 20
_ALIGNMENT = 64

# torch's storage type names and the NumPy dtypes of their elements.
_STORAGE_TYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
                  "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
                  "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_}
_STORAGE_NAME = {np.dtype(v): k for k, v in _STORAGE_TYPES.items()}
_TORCH_ONLY_TYPES = ("BFloat16", "ComplexFloat", "ComplexDouble", "QInt8", "QUInt8", "QInt32", "UInt16",
                     "UInt32", "UInt64", "Float8")


def _archive_prefix(archive: Archive) -> str | None:
    pickles = [n for n in archive.infos if n.endswith("/data.pkl") and n.count("/") == 1]
    return pickles[0][:-len("data.pkl")] if len(pickles) == 1 else None


def recognise(archive: Archive) -> bool:
    return _archive_prefix(archive) is not None


# -- reading -------------------------------------------------------------------------------------
class _StorageType:
    """What the restricted unpickler returns for ``torch.FloatStorage`` and its siblings."""

    def __init__(self, name: str, numpy_dtype):
        self.name, self.dtype = name, np.dtype(numpy_dtype)

    def __repr__(self) -> str:
        return f"torch.{self.name}"


def _refuse(module: str, name: str) -> CheckpointError:
    return CheckpointError(
        f"Weights only load failed. Unsupported global: GLOBAL {module}.{name} was not an allowed global: "
        "pygrad reads only tensors, parameters, sizes, dtypes and containers of them from PyTorch files, "
        "and never runs code from a file.")


def _unsupported_type(name: str) -> CheckpointError:
    return CheckpointError(f"cannot load a tensor of type torch.{name}: pygrad has no such dtype (it has "
                           f"{', '.join(d.name for d in dtypes._ALL)}); convert it in PyTorch (for example "
                           "with .float()) before saving")


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    if not isinstance(storage, np.ndarray):
        raise CheckpointError(f"damaged checkpoint: a tensor's storage is a {type(storage).__name__}")
    if not isinstance(requires_grad, bool):
        raise CheckpointError(f"damaged checkpoint: requires_grad is a {type(requires_grad).__name__}")
    try:
        t = Tensor._wrap(view_of(storage, storage_offset, size, stride))
    except ValueError as e:
        raise CheckpointError(f"damaged checkpoint: {e}") from None
    if requires_grad:
        t.requires_grad_(True)
    return t


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _rebuild_tensor_v2(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad, backward_hooks=None, state=None):
    from .nn.parameter import Parameter
    if not isinstance(data, Tensor) or not isinstance(requires_grad, bool):
        raise CheckpointError("damaged checkpoint: a parameter's data is not a tensor")
    if state:
        raise CheckpointError("cannot load a parameter with extra Python state (a Parameter subclass)")
    return Parameter(data, requires_grad)


def _size(dims):
    if not isinstance(dims, (tuple, list)) or not all(type(d) is int and d >= 0 for d in dims):
        raise CheckpointError(f"damaged checkpoint: torch.Size of {dims!r:.80}")
    return Size(dims)


def _encode_latin1(text, encoding):
    # Protocol 2 pickles bytes as _codecs.encode(str, "latin1").
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _refuse("_codecs", "encode")
    return text.encode("latin1")


def _allowed_global(module: str, name: str):
    if module == "torch._utils":
        fn = {"_rebuild_tensor_v2": _rebuild_tensor_v2, "_rebuild_tensor": _rebuild_tensor,
              "_rebuild_parameter": _rebuild_parameter,
              "_rebuild_parameter_with_state": _rebuild_parameter}.get(name)
        if fn is not None:
            return fn
    elif module == "torch":
        if name in _STORAGE_TYPES:
            return _StorageType(name, _STORAGE_TYPES[name])
        if name.endswith("Storage") and name.startswith(_TORCH_ONLY_TYPES) or name in (
                "bfloat16", "complex64", "complex128", "uint16", "uint32", "uint64"):
            raise _unsupported_type(name)
        if name in dtypes._BY_NAME:
            return dtypes._BY_NAME[name]
        if name == "Size":
            return _size
        if name == "device":
            return device
    elif (module, name) == ("collections", "OrderedDict"):
        return OrderedDict
    elif (module, name) == ("_codecs", "encode"):
        return _encode_latin1
    elif module == "builtins" and name in ("set", "frozenset"):
        return {"set": set, "frozenset": frozenset}[name]
    raise _refuse(module, name)


def _expect(target, kinds, opcode: str):
    if type(target) not in kinds:
        raise CheckpointError(f"damaged checkpoint: {opcode} applied to a {type(target).__name__}")
    return target


class _RestrictedUnpickler(pickle._Unpickler):
    """The pure-Python unpickler (so container opcodes can be checked) with only the globals of
    ``_allowed_global`` and storages from the archive."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, data: bytes, read_storage):
        super().__init__(io.BytesIO(data))
        self.read_storage = read_storage  # (key, dtype, numel) -> a new 1-D array
        self.storages: dict[str, np.ndarray] = {}

    def find_class(self, module, name):
        module, name = str(module), str(name)
        return _allowed_global("builtins" if module == "__builtin__" else module, name)  # protocol 2's name

    def persistent_load(self, pid):
        # ("storage", type, key, location, numel), and in the legacy format a sixth item: a view
        # of another storage, which only files from before PyTorch 0.4 use.
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage" and pid[5:] in ((), (None,))):
            raise CheckpointError(f"damaged checkpoint: unexpected persistent id {pid!r:.80}")
        _, storage_type, key, _location, numel = pid[:5]
        if not isinstance(storage_type, _StorageType) or not isinstance(key, str) or type(numel) is not int \
                or numel < 0:
            raise CheckpointError(f"damaged checkpoint: malformed storage reference {pid!r:.120}")
        storage = self.storages.get(key)
        if storage is None:
            storage = self.storages[key] = self.read_storage(key, storage_type.dtype, numel)
        if storage.dtype != storage_type.dtype or storage.size != numel:
            raise CheckpointError(f"damaged checkpoint: storage {key!r} is used with two different types or sizes")
        return storage

    # Opcodes that act on an object already built: only on the containers the globals make.
    def load_build(self):
        state = self.stack.pop()
        target = self.stack[-1]
        if type(target) is not OrderedDict or not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
            raise CheckpointError("damaged checkpoint: BUILD may only set an OrderedDict's attributes (a "
                                  f"state_dict's _metadata), not a {type(target).__name__}'s")
        for k, v in state.items():
            setattr(target, k, v)

    def load_setitem(self):
        value, key = self.stack.pop(), self.stack.pop()
        _expect(self.stack[-1], (dict, OrderedDict), "SETITEM")[key] = value

    def load_setitems(self):
        items = self.pop_mark()
        target = _expect(self.stack[-1], (dict, OrderedDict), "SETITEMS")
        if len(items) % 2:
            raise CheckpointError("damaged checkpoint: SETITEMS with an odd number of items")
        for i in range(0, len(items), 2):
            target[items[i]] = items[i + 1]

    def load_append(self):
        value = self.stack.pop()
        _expect(self.stack[-1], (list,), "APPEND").append(value)

    def load_appends(self):
        items = self.pop_mark()
        _expect(self.stack[-1], (list,), "APPENDS").extend(items)

    def load_additems(self):
        items = self.pop_mark()
        _expect(self.stack[-1], (set,), "ADDITEMS").update(items)

    for _opcode, _method in ((pickle.BUILD, load_build), (pickle.SETITEM, load_setitem),
                             (pickle.SETITEMS, load_setitems), (pickle.APPEND, load_append),
                             (pickle.APPENDS, load_appends), (pickle.ADDITEMS, load_additems)):
        dispatch[_opcode[0]] = _method
    del _opcode, _method


def read(archive: Archive):
    """The object of a PyTorch zip checkpoint, rebuilt from pygrad types only."""
    prefix = _archive_prefix(archive)
    known = {f"{prefix}{n}" for n in ("data.pkl", "version", "byteorder", ".format_version",
                                      ".storage_alignment", ".data/serialization_id", ".data/version")}
    for name in archive.infos:
        if name not in known and not (name.startswith(f"{prefix}data/") and name.count("/") == 2):
            raise CheckpointError(f"refusing checkpoint: unexpected member {name!r:.200}")
    byteorder = "little"
    if f"{prefix}byteorder" in archive.infos:
        byteorder = archive.read(f"{prefix}byteorder", 16).decode("ascii", "replace")
        if byteorder not in ("little", "big"):
            raise CheckpointError(f"damaged checkpoint: unknown byte order {byteorder!r}")

    def read_storage(key: str, dtype: np.dtype, numel: int) -> np.ndarray:
        name = f"{prefix}data/{key}"
        if archive.size(name) != numel * dtype.itemsize:  # checked before allocating
            raise CheckpointError(f"damaged checkpoint: storage {key!r} declares {numel} elements of "
                                  f"{dtype.itemsize} bytes, but its member holds {archive.size(name)} bytes")
        storage = np.empty(numel, dtype.newbyteorder("<" if byteorder == "little" else ">"))
        archive.read_into(name, storage)
        return checked_array(storage, convert_byte_order=True)

    return _unpickle(archive.read(f"{prefix}data.pkl", _PICKLE_LIMIT), read_storage, f"{prefix}data.pkl")


def _unpickle(data: bytes, read_storage, what: str):
    try:
        return _RestrictedUnpickler(data, read_storage).load()
    except CheckpointError:
        raise
    except Exception as e:  # whatever a damaged pickle makes the unpickler trip over
        raise CheckpointError(f"damaged checkpoint: cannot unpickle {what} ({type(e).__name__}: {e})") from None


# -- the legacy format (torch.save(..., _use_new_zipfile_serialization=False)) -------------------
# Five pickles in a row (a magic number, the protocol version 1001, system information, the
# object, the list of storage keys), then each storage as its element count (8 bytes, little
# endian) and its bytes, in the order of that list.
LEGACY_MAGIC = b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little") + b"."


def read_legacy(fh):
    start = fh.tell()
    fh.seek(0, io.SEEK_END)
    available = fh.tell() - start
    fh.seek(start)

    def next_pickle(read_storage=None):
        return _unpickle(_one_pickle(fh), read_storage or _no_storage, "the legacy header")

    if next_pickle() != 0x1950A86A20F9469CFC6C or next_pickle() != 1001:
        raise CheckpointError("unsupported legacy PyTorch file: protocol version is not 1001")
    info = next_pickle()
    if not isinstance(info, dict) or info.get("little_endian") is not (sys.byteorder == "little"):
        raise CheckpointError("unsupported legacy PyTorch file: written on a machine of the other byte order "
                              "(re-save it with torch.save's default zip format)")
    pending: dict[str, np.ndarray] = {}

    def read_storage(key: str, dtype: np.dtype, numel: int) -> np.ndarray:
        nonlocal available
        if numel * dtype.itemsize > available:  # the bytes come later: bound them by the file first
            raise CheckpointError(f"damaged legacy PyTorch file: storage {key!r} declares {numel} elements, "
                                  "more than the file holds")
        available -= numel * dtype.itemsize
        pending[key] = np.empty(numel, dtype)
        return pending[key]

    obj = next_pickle(read_storage)
    keys = next_pickle()
    if not isinstance(keys, list) or sorted(keys) != sorted(pending) or len(set(keys)) != len(keys):
        raise CheckpointError("damaged legacy PyTorch file: the storage list does not match the object")
    for key in keys:
        storage = pending[key]
        count = fh.read(8)
        if len(count) != 8 or int.from_bytes(count, "little") != storage.size:
            raise CheckpointError(f"damaged legacy PyTorch file: storage {key!r} has the wrong length")
        target = memoryview(storage.view(np.uint8))
        if fh.readinto(target) != storage.nbytes:
            raise CheckpointError(f"damaged legacy PyTorch file: storage {key!r} ends early")
    return obj


def _no_storage(key, dtype, numel):
    raise CheckpointError("damaged legacy PyTorch file: a storage outside the object pickle")


def _one_pickle(fh) -> bytes:
    """The bytes of the next pickle in ``fh`` (up to and including its STOP opcode)."""
    import pickletools
    start = fh.tell()
    try:
        for opcode, _arg, _pos in pickletools.genops(fh):
            if opcode.name == "STOP":
                break
    except Exception as e:
        raise CheckpointError(f"damaged legacy PyTorch file ({type(e).__name__}: {e})") from None
    end = fh.tell()
    fh.seek(start)
    if end - start > _PICKLE_LIMIT:
        raise CheckpointError("damaged legacy PyTorch file: a pickle larger than expected")
    return fh.read(end - start)


# -- writing -------------------------------------------------------------------------------------
class _Global:
    """Pickled as ``GLOBAL module name`` without importing the module (torch is not needed)."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):  # the pickler requires reduce functions to be callable
        raise TypeError(f"{self.module}.{self.name} is a name in a PyTorch file, not a function")


class _StorageRef:
    def __init__(self, key: str, storage: np.ndarray):
        self.key, self.storage = key, storage


class _TensorData:
    """A parameter's tensor, pickled as a plain tensor inside ``_rebuild_parameter``."""

    def __init__(self, tensor: Tensor):
        self.tensor = tensor


_PLAIN = (type(None), bool, int, float, str, tuple, list, dict, OrderedDict)


class _TorchPickler(pickle._Pickler):
    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, fh):
        super().__init__(fh, protocol=2)
        self.table = StorageTable(allow_negative_strides=False)
        self.refs: list[_StorageRef] = []
        self.globals: dict[tuple, _Global] = {}
        self._keep: list = []

    def global_(self, module: str, name: str) -> _Global:
        return self.globals.setdefault((module, name), _Global(module, name))

    def persistent_id(self, obj):
        if type(obj) is _StorageRef:
            storage = obj.storage
            return ("storage", self.global_("torch", _STORAGE_NAME[storage.dtype]), obj.key, "cpu", storage.size)
        return None

    def tensor_reduce(self, t: Tensor, requires_grad: bool):
        index, offset, shape, strides = self.table.add(t._data)
        while len(self.refs) < len(self.table.storages):
            self.refs.append(_StorageRef(str(len(self.refs)), self.table.storages[len(self.refs)]))
        return (self.global_("torch._utils", "_rebuild_tensor_v2"),
                (self.refs[index], offset, tuple(shape), tuple(strides), requires_grad, OrderedDict()))

    def reducer_override(self, obj):
        from .nn.parameter import Parameter
        if type(obj) is _TensorData:
            self._keep.append(obj)
            return self.tensor_reduce(obj.tensor, False)
        if isinstance(obj, Parameter):
            return (self.global_("torch._utils", "_rebuild_parameter"),
                    (_TensorData(obj), obj.requires_grad, OrderedDict()))
        if isinstance(obj, Tensor):
            return self.tensor_reduce(obj, obj.requires_grad)
        if isinstance(obj, Size):
            return (self.global_("torch", "Size"), (tuple(obj),))
        if type(obj) is bytes:  # protocol 2 spells bytes this way, as torch.save does
            return (self.global_("_codecs", "encode"), (obj.decode("latin1"), "latin1"))
        if isinstance(obj, device):
            return (self.global_("torch", "device"), (str(obj),))
        if type(obj) in _PLAIN or type(obj) in (_Global, dtypes.dtype) or obj is OrderedDict:
            return NotImplemented
        raise TypeError(f"format='torch' writes tensors, parameters, numbers, strings, sizes, dtypes and "
                        f"lists/tuples/dicts of them; cannot write a {type(obj).__name__}")

    def save_global_ref(self, obj):
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("utf-8"))
        self.memoize(obj)

    def save_dtype(self, obj):
        self.save(self.global_("torch", obj.name))

    dispatch[_Global] = save_global_ref
    dispatch[dtypes.dtype] = save_dtype


def _aligned_member(z: zipfile.ZipFile, fh, name: str, size: int) -> zipfile.ZipInfo:
    """A ZipInfo whose data will start on a multiple of ``_ALIGNMENT`` (padding in an extra field,
    as PyTorch's writer does)."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    zip64 = size > zipfile.ZIP64_LIMIT
    start = fh.tell() + 30 + len(name.encode("utf-8")) + (20 if zip64 else 0) + 4
    info.extra = struct.pack("<HH", 0x4246, (-start) % _ALIGNMENT) + b"Z" * ((-start) % _ALIGNMENT)
    return info


def write(obj, fh, archive: str = "archive") -> None:
    """Write ``obj`` in PyTorch's zip checkpoint format to the binary file ``fh``."""
    pickled = io.BytesIO()
    pickler = _TorchPickler(pickled)
    pickler.dump(obj)
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{archive}/data.pkl", pickled.getvalue())
        z.writestr(f"{archive}/.format_version", "1")
        z.writestr(f"{archive}/.storage_alignment", str(_ALIGNMENT))
        z.writestr(f"{archive}/byteorder", sys.byteorder)
        for ref in pickler.refs:
            data = ref.storage.view(np.uint8)
            info = _aligned_member(z, fh, f"{archive}/data/{ref.key}", data.nbytes)
            with z.open(info, "w", force_zip64=data.nbytes > zipfile.ZIP64_LIMIT) as member:
                member.write(data)
        z.writestr(f"{archive}/version", "3\n")
