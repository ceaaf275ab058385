"""Hostile and damaged files for ``pygrad.load``: every one is refused with a clear error, runs
nothing and writes nothing.  The files are generated here; none is committed.

Categories: pickles that would run code, unsafe member names, decompression and allocation
bombs, foreign dtypes, malformed headers, duplicate members, truncations and bit flips.
"""
import io
import json
import os
import pickle
import re
import stat
import struct
import warnings
import zipfile

import numpy as np
import pytest

import pygrad
from pygrad.serialization import CheckpointError

MARKER = "pygrad-hostile-marker"


# -- building files -------------------------------------------------------------------------------
def _npy(array) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(array), allow_pickle=True)
    return buf.getvalue()


def _zip(members, compression=zipfile.ZIP_STORED) -> bytes:
    """A zip of ``(name, bytes)`` members (or ZipInfo, bytes) written exactly as given."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # zipfile warns about duplicate names
                z.writestr(name, data)
    return buf.getvalue()


def _header(root, views=None, version=2) -> bytes:
    return json.dumps({"format": "pygrad", "version": version, "views": views or [[0, 0, [3], [1]]],
                       "root": root}).encode()


def _pygrad(extra=(), header=None, storage=None) -> bytes:
    return _zip([("pygrad.json", header or _header({"$tensor": 0})),
                 ("storages/0.npy", _npy(np.arange(3.0) if storage is None else storage)), *extra])


def _v1(root, extra=(), array=None, compression=zipfile.ZIP_STORED) -> bytes:
    data = _npy(np.zeros(1 << 18) if array is None else array)
    return _zip([("pygrad.json", json.dumps({"format": "pygrad", "version": 1, "root": root})),
                 ("arrays/0.npy", data), *extra], compression)


def _valid_pygrad() -> bytes:
    buf = io.BytesIO()
    pygrad.save({"w": pygrad.arange(6.0).reshape(2, 3).t(), "n": 3}, buf)
    return buf.getvalue()


def _torch_zip(pickle_bytes: bytes, storages=(), extra=()) -> bytes:
    return _zip([("archive/data.pkl", pickle_bytes), ("archive/byteorder", b"little"),
                 *[(f"archive/data/{k}", v) for k, v in storages], *extra])


def _valid_torch() -> bytes:
    buf = io.BytesIO()
    pygrad.save({"w": pygrad.arange(6.0).reshape(2, 3).t(), "p": pygrad.nn.Parameter(pygrad.ones(2))},
                buf, format="torch")
    return buf.getvalue()


_LONG_1E12 = b"\x8a\x06" + (10**12).to_bytes(6, "little")  # LONG1 opcode: 10**12


def _legacy(main_pickle: bytes, storages=(("0", np.arange(3.0)),), keys=None, little_endian=True) -> bytes:
    """PyTorch's legacy (non-zip) format: five pickles, then each storage's length and bytes."""
    parts = [pickle.dumps(0x1950A86A20F9469CFC6C, 2), pickle.dumps(1001, 2),
             pickle.dumps({"protocol_version": 1001, "little_endian": little_endian}, 2), main_pickle,
             pickle.dumps([k for k, _ in storages] if keys is None else keys, 2)]
    for _, array in storages:
        parts += [struct.pack("<q", array.size), array.tobytes()]
    return b"".join(parts)


def _valid_legacy() -> bytes:
    return _legacy(_tensor_pickle())


def _touch_payload(marker: str) -> bytes:
    # GLOBAL os.system; ("touch <marker>",) REDUCE: what a malicious checkpoint looks like.
    cmd = f"touch {marker}".encode()
    return b"\x80\x02cos\nsystem\nq\x00X" + struct.pack("<I", len(cmd)) + cmd + b"\x85R."


def _exec_payload(marker: str) -> bytes:
    code = f"open({marker!r}, 'w').close()".encode()
    return b"\x80\x02cbuiltins\nexec\nX" + struct.pack("<I", len(code)) + code + b"\x85R."


class _Touch:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _tensor_pickle(tail: bytes = b"") -> bytes:
    """A protocol-2 pickle of one float64 tensor of storage '0' (3 elements), then ``tail``
    opcodes applied to it, then STOP."""
    return (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nDoubleStorage\n"
            b"X\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x03tQK\x00K\x03\x85K\x01\x85\x89ccollections\n"
            b"OrderedDict\n)RtR" + tail + b".")


def _symlink_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("pygrad.json", _header({"$tensor": 0}))
        info = zipfile.ZipInfo("storages/0.npy")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, "/etc/passwd")
    return buf.getvalue()


def _deflated_bomb(size: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("pygrad.json", _header({"$tensor": 0}, [[0, 0, [size // 8], [1]]]))
        with z.open("storages/0.npy", "w", force_zip64=True) as member:
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                          "shape": (size // 8,)})
            member.write(header.getvalue())
            zeros = bytes(1 << 20)
            for _ in range(size >> 20):
                member.write(zeros)
    return buf.getvalue()


def _npy_declaring(shape, payload: bytes) -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return header.getvalue() + payload


def _deep_json(depth: int) -> bytes:
    return b'{"format": "pygrad", "version": 2, "views": [], "root": ' + b"[" * depth + b"]" * depth + b"}"


HOSTILE = {
    # pickles that would run code (the payload creates MARKER)
    "pickle/raw": lambda: pickle.dumps(_Touch(MARKER)),
    "pickle/pygrad data.pkl": lambda: _zip([("pygrad.json", json.dumps(
        {"format": "pygrad", "version": 2, "root": {"$pickle": True}})), ("data.pkl", pickle.dumps(_Touch(MARKER)))]),
    "pickle/torch os.system": lambda: _torch_zip(_touch_payload(MARKER)),
    "pickle/torch builtins.exec": lambda: _torch_zip(_exec_payload(MARKER)),
    "pickle/torch __builtin__.eval": lambda: _torch_zip(b"\x80\x02c__builtin__\neval\nX\x01\x00\x00\x001\x85R."),
    "pickle/torch protocol-0 INST": lambda: _torch_zip(b"(S'touch " + MARKER.encode() + b"'\nios\nsystem\n."),
    "pickle/torch getattr chain": lambda: _torch_zip(b"\x80\x02cbuiltins\ngetattr\n."),
    "pickle/torch EXT1 code": lambda: _torch_zip(b"\x80\x02\x82\x01."),
    "pickle/torch numpy global": lambda: _torch_zip(b"\x80\x02cnumpy.core.multiarray\n_reconstruct\n."),
    "pickle/torch BUILD sets a tensor's _grad_fn": lambda: _torch_zip(
        _tensor_pickle(b"}X\x08\x00\x00\x00_grad_fnK\x01sb"), [("0", np.arange(3.0).tobytes())]),
    "pickle/torch SETITEM into a tensor": lambda: _torch_zip(
        _tensor_pickle(b"K\x00K\x07s"), [("0", np.arange(3.0).tobytes())]),
    "pickle/torch APPEND to a tensor": lambda: _torch_zip(_tensor_pickle(b"K\x07a"), [("0", np.arange(3.0).tobytes())]),
    "pickle/torch string as storage": lambda: _torch_zip(
        b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(X\x01\x00\x00\x00sK\x00K\x01\x85K\x01\x85\x89}tR."),
    "pickle/torch Size of floats": lambda: _torch_zip(b"\x80\x02ctorch\nSize\nG?\xf8\x00\x00\x00\x00\x00\x00\x85\x85R."),
    "pickle/torch malformed persistent id": lambda: _torch_zip(b"\x80\x02X\x03\x00\x00\x00abcQ."),
    "pickle/npy object array": lambda: _pygrad(storage=np.array([_Touch(MARKER)], dtype=object)),
    # member names that would escape an extraction directory, or are not plain names
    "name/parent traversal": lambda: _pygrad([("../" + MARKER, b"x")]),
    "name/absolute": lambda: _pygrad([("/tmp/" + MARKER, b"x")]),
    "name/inner traversal": lambda: _pygrad([("storages/../../" + MARKER, b"x")]),
    "name/windows drive": lambda: _pygrad([("C:/" + MARKER, b"x")]),
    "name/backslashes": lambda: _pygrad([("..\\..\\" + MARKER, b"x")]),
    "name/dot segment": lambda: _pygrad([("storages/./1.npy", b"x")]),
    "name/empty segment": lambda: _pygrad([("storages//1.npy", b"x")]),
    "name/NUL byte": lambda: _pygrad([("storages/1.npy\0.txt", b"x")]),
    "name/unexpected member": lambda: _pygrad([("storages/extra.npy", _npy(np.zeros(1)))]),
    "name/torch traversal": lambda: _torch_zip(_tensor_pickle(), [("0", np.arange(3.0).tobytes())],
                                               [("archive/../" + MARKER, b"x")]),
    "name/torch storage key traversal": lambda: _torch_zip(
        _tensor_pickle().replace(b"X\x01\x00\x00\x000", b"X\x04\x00\x00\x00../0"), [("0", np.arange(3.0).tobytes())]),
    "name/symlink member": _symlink_zip,
    # bombs: deflated members, sizes declared far beyond the data
    "bomb/deflated pygrad member": lambda: _deflated_bomb(64 << 20),
    "bomb/deflated torch storage": lambda: _zip(
        [("archive/data.pkl", _tensor_pickle()), ("archive/data/0", bytes(24 << 20))], zipfile.ZIP_DEFLATED),
    "bomb/npy declares 1e12 elements": lambda: _zip(
        [("pygrad.json", _header({"$tensor": 0})), ("storages/0.npy", _npy_declaring((10**12,), bytes(24)))]),
    "bomb/npy declares a negative shape": lambda: _zip(
        [("pygrad.json", _header({"$tensor": 0})), ("storages/0.npy", _npy_declaring((-3,), bytes(24)))]),
    "bomb/torch storage declares 1e12 elements": lambda: _torch_zip(
        _tensor_pickle().replace(b"K\x03tQ", _LONG_1E12 + b"tQ"), [("0", np.arange(3.0).tobytes())]),
    "bomb/view reaches past its storage": lambda: _pygrad(header=_header({"$tensor": 0}, [[0, 2, [3], [1]]])),
    "bomb/view with a negative offset": lambda: _pygrad(header=_header({"$tensor": 0}, [[0, -1, [3], [1]]])),
    "bomb/torch view past its storage": lambda: _torch_zip(
        _tensor_pickle().replace(b"K\x00K\x03\x85", b"K\x02K\x03\x85"), [("0", np.arange(3.0).tobytes())]),
    "bomb/deep JSON nesting": lambda: _zip([("pygrad.json", _deep_json(100_000))]),
    # dtypes no tensor can hold
    **{f"dtype/{d}": (lambda d=d: _pygrad(storage=np.zeros(3, dtype=d)))
       for d in ["complex128", "<U3", "S3", "datetime64[s]", "timedelta64[s]", "longdouble", "uint16", "uint64", "V8"]},
    "dtype/structured": lambda: _pygrad(storage=np.zeros(3, dtype=[("a", "<f8")])),
    "dtype/torch complex storage": lambda: _torch_zip(_tensor_pickle().replace(
        b"ctorch\nDoubleStorage\n", b"ctorch\nComplexDoubleStorage\n"), [("0", np.arange(3.0).tobytes())]),
    # headers with the wrong JSON types or values
    "json/not JSON": lambda: _pygrad(header=b"{not json"),
    "json/not UTF-8": lambda: _pygrad(header=b'{"format": "\xff\xfe"}'),
    "json/a list": lambda: _pygrad(header=b"[1, 2]"),
    "json/no root": lambda: _pygrad(header=b'{"format": "pygrad", "version": 2, "views": []}'),
    "json/wrong format": lambda: _pygrad(header=b'{"format": "other", "version": 2, "root": null}'),
    "json/version true": lambda: _pygrad(header=b'{"format": "pygrad", "version": true, "root": null}'),
    "json/version 99": lambda: _pygrad(header=b'{"format": "pygrad", "version": 99, "root": null}'),
    "json/string tensor index": lambda: _pygrad(header=_header({"$tensor": "0"})),
    "json/tensor index out of range": lambda: _pygrad(header=_header({"$tensor": 5})),
    "json/missing array index": lambda: _pygrad(header=_header({"$tensor": 0}, [[3, 0, [3], [1]]])),
    "json/views not a list": lambda: _pygrad(header=json.dumps(
        {"format": "pygrad", "version": 2, "views": {"0": 1}, "root": {"$tensor": 0}}).encode()),
    "json/view with a string shape": lambda: _pygrad(header=_header({"$tensor": 0}, [[0, 0, "3", [1]]])),
    "json/view shape and strides differ": lambda: _pygrad(header=_header({"$tensor": 0}, [[0, 0, [3], [1, 1]]])),
    "json/float offset": lambda: _pygrad(header=_header({"$tensor": 0}, [[0, 0.5, [3], [1]]])),
    "json/requires_grad a string": lambda: _pygrad(header=_header({"$tensor": 0, "requires_grad": "yes"})),
    "json/two tags": lambda: _pygrad(header=_header({"$tensor": 0, "$ndarray": 0})),
    "json/unknown tag": lambda: _pygrad(header=_header({"$eval": "1"})),
    "json/untagged object": lambda: _pygrad(header=_header({"a": 1})),
    "json/dict not pairs": lambda: _pygrad(header=_header({"$dict": [[1, 2, 3]]})),
    "json/dict unhashable key": lambda: _pygrad(header=_header({"$dict": [[[[1]], 2]]}).replace(b"[[[[1]]", b"[[{\"$dict\": []}")),
    "json/float not a number": lambda: _pygrad(header=_header({"$float": "one"})),
    "json/float a list": lambda: _pygrad(header=_header({"$float": [1]})),
    "json/unknown dtype": lambda: _pygrad(header=_header({"$dtype": "complex64"})),
    "json/negative size": lambda: _pygrad(header=_header({"$size": [-1]})),
    "json/tuple not a list": lambda: _pygrad(header=_header({"$tuple": 3})),
    "json/version 1 without arrays": lambda: _zip([("pygrad.json", _header({"$tensor": 0}, version=1))]),
    # members that appear twice (which copy would a reader take?)
    "duplicate/pygrad.json": lambda: _pygrad([("pygrad.json", _header({"$tensor": 0}))]),
    "duplicate/storage": lambda: _pygrad([("storages/0.npy", _npy(np.ones(3)))]),
    "duplicate/torch data.pkl": lambda: _torch_zip(_tensor_pickle(), [("0", np.arange(3.0).tobytes())],
                                                   [("archive/data.pkl", _touch_payload(MARKER))]),
    "duplicate/torch storage": lambda: _torch_zip(_tensor_pickle(), [("0", np.arange(3.0).tobytes()),
                                                                     ("0", np.ones(3).tobytes())]),
    # version 1 files (one arrays/<i>.npy per tensor), which load still reads
    "v1/missing array index": lambda: _v1({"$tensor": 3}),
    "v1/string array index": lambda: _v1({"$tensor": "0"}),
    "v1/array name not a number": lambda: _v1({"$tensor": 0}, [("arrays/x.npy", _npy(np.ones(1)))]),
    "v1/deflated member": lambda: _v1({"$tensor": 0}, compression=zipfile.ZIP_DEFLATED),
    "v1/complex array": lambda: _v1({"$tensor": 0}, array=np.ones(3, complex)),
    "v1/uint16 array": lambda: _v1({"$ndarray": 0}, array=np.ones(3, np.uint16)),
    "v1/traversal name": lambda: _v1({"$tensor": 0}, [("../../" + MARKER, b"x")]),
    "v1/dict of non-pairs": lambda: _v1({"$dict": [1, 2]}),
    "v1/tensor of a string array": lambda: _v1({"$tensor": 0}, array=np.array(["a", "b"])),
    # PyTorch's legacy (non-zip) format
    "legacy/os.system": lambda: _legacy(_touch_payload(MARKER)),
    "legacy/storage declares 1e12 elements": lambda: _legacy(
        _tensor_pickle().replace(b"K\x03tQ", _LONG_1E12 + b"tQ")),
    "legacy/storage list disagrees": lambda: _legacy(_tensor_pickle(), keys=["1"]),
    "legacy/storage length disagrees": lambda: _legacy(_tensor_pickle(), storages=(("0", np.arange(2.0)),)),
    "legacy/other byte order": lambda: _legacy(_tensor_pickle(), little_endian=False),
    "legacy/view of a storage": lambda: _legacy(_tensor_pickle().replace(b"K\x03tQ", b"K\x03NNtQ")),
    # not a checkpoint at all
    "other/empty file": lambda: b"",
    "other/text": lambda: b"hello, world\n",
    "other/empty zip": lambda: _zip([]),
    "other/zip of something else": lambda: _zip([("readme.txt", b"hi")]),
    "other/two torch archives": lambda: _zip([("a/data.pkl", _tensor_pickle()), ("b/data.pkl", _tensor_pickle())]),
}


# Why some files must be refused: the refusal has to be for that reason, not an earlier one.
EXPECTED = {
    "pickle/torch os.system": r"GLOBAL os\.system was not an allowed global",
    "pickle/torch builtins.exec": r"GLOBAL builtins\.exec",
    "pickle/torch __builtin__.eval": r"GLOBAL builtins\.eval",
    "pickle/torch protocol-0 INST": r"GLOBAL os\.system",
    "pickle/torch numpy global": r"GLOBAL numpy\.core\.multiarray\._reconstruct",
    "pickle/torch BUILD sets a tensor's _grad_fn": r"BUILD may only set an OrderedDict's attributes",
    "pickle/torch SETITEM into a tensor": r"SETITEM applied to a Tensor",
    "pickle/torch APPEND to a tensor": r"APPEND applied to a Tensor",
    "pickle/torch string as storage": r"storage is a str",
    "pickle/torch Size of floats": r"torch.Size of \(1.5,\)",
    "pickle/pygrad data.pkl": r"Weights only load failed",
    "pickle/npy object array": r"allow_pickle",
    "name/torch storage key traversal": r"'archive/data/\.\./0' is missing",
    "bomb/deflated pygrad member": r"compressed member",
    "bomb/deflated torch storage": r"compressed member",
    "bomb/npy declares 1e12 elements": r"declares 8000000000000",
    "bomb/torch storage declares 1e12 elements": r"declares 1000000000000 elements",
    "bomb/torch view past its storage": r"outside its storage",
    "bomb/view reaches past its storage": r"outside its storage",
    "legacy/os.system": r"GLOBAL os\.system",
    "legacy/storage declares 1e12 elements": r"more than the file holds",
    "legacy/view of a storage": r"unexpected persistent id",
    "dtype/torch complex storage": r"torch\.ComplexDoubleStorage",
    "v1/deflated member": r"compressed member",
    "v1/complex array": r"complex128",
}


def test_the_hand_made_pickles_are_valid():
    out = pygrad.load(io.BytesIO(_torch_zip(_tensor_pickle(), [("0", np.arange(3.0).tobytes())])))
    assert out.tolist() == [0.0, 1.0, 2.0] and out.dtype is pygrad.float64
    assert pygrad.load(io.BytesIO(_valid_legacy())).tolist() == [0.0, 1.0, 2.0]


def _files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def _assert_refused(path, tmp_path):
    before = _files(tmp_path)
    cwd_before = set(os.listdir("."))
    with pytest.raises(pickle.UnpicklingError) as info:  # CheckpointError is one
        pygrad.load(path)
    message = str(info.value)
    assert len(message) > 20 and "Traceback" not in message
    assert _files(tmp_path) == before, "load wrote a file"
    assert set(os.listdir(".")) == cwd_before
    assert not os.path.exists(os.path.join(os.path.dirname(path), MARKER)) and not os.path.exists(MARKER)
    return info.value


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_file_is_refused(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    path = tmp_path / "in" / "checkpoint.pt"
    path.write_bytes(HOSTILE[case]())
    error = _assert_refused(path, tmp_path)
    if case in EXPECTED:
        assert re.search(EXPECTED[case], str(error)), str(error)


def test_the_payloads_would_run_if_unpickled_plainly(tmp_path, monkeypatch):
    # So "nothing ran" above means something: plain pickle runs each of them.
    monkeypatch.chdir(tmp_path)
    for payload in (_touch_payload(MARKER), _exec_payload(MARKER), pickle.dumps(_Touch(MARKER))):
        pickle.loads(payload)
        assert (tmp_path / MARKER).exists()
        (tmp_path / MARKER).unlink()


def test_the_hostile_set_is_large_and_covers_every_category():
    categories = {name.split("/")[0] for name in HOSTILE}
    assert categories == {"pickle", "name", "bomb", "dtype", "json", "v1", "legacy", "duplicate", "other"}
    assert len(HOSTILE) >= 90


def test_a_compressed_member_is_refused_before_it_is_inflated(tmp_path):
    import tracemalloc
    path = tmp_path / "bomb.pt"
    path.write_bytes(_deflated_bomb(64 << 20))
    assert path.stat().st_size < (1 << 20)  # 64 MiB of zeros deflate to well under 1 MiB
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match="compressed member"):
            pygrad.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < (4 << 20)


VALID = {"pygrad": _valid_pygrad, "torch": _valid_torch, "legacy": _valid_legacy}


@pytest.mark.parametrize("kind", sorted(VALID))
def test_every_truncation_is_refused(kind, tmp_path):
    data = VALID[kind]()
    assert pygrad.load(io.BytesIO(data)) is not None
    path = tmp_path / "cut.pt"
    for n in range(0, len(data), 7 if kind != "legacy" else 1):
        path.write_bytes(data[:n])
        _assert_refused(path, tmp_path)


@pytest.mark.parametrize("kind", ["pygrad", "torch"])
def test_bit_flips_are_refused_or_harmless(kind, tmp_path):
    """A flipped bit either makes load refuse the file clearly or lands in bytes no reader uses
    (timestamps, attributes, padding): the values never change silently."""
    data = _valid_pygrad() if kind == "pygrad" else _valid_torch()
    expected = pygrad.load(io.BytesIO(data))
    path = tmp_path / "flipped.pt"
    refused = 0
    step = 1 if kind == "pygrad" else 3  # the torch file is mostly alignment padding
    for i in range(0, len(data), step):
        flipped = bytearray(data)
        flipped[i] ^= 1 << (i % 8)
        path.write_bytes(bytes(flipped))
        try:
            out = pygrad.load(path)
        except pickle.UnpicklingError as e:
            assert str(e)
            refused += 1
            continue
        assert out.keys() == expected.keys(), f"byte {i}"
        for k in expected:
            if isinstance(expected[k], pygrad.Tensor):
                assert out[k].dtype is expected[k].dtype and out[k].tolist() == expected[k].tolist(), f"byte {i}"
                assert out[k].stride() == expected[k].stride() and type(out[k]) is type(expected[k]), f"byte {i}"
            else:
                assert out[k] == expected[k], f"byte {i}"
    assert refused > len(data) // (2 * step)


@pytest.mark.parametrize("version", [1, 2])
def test_big_endian_storage_loads_with_the_right_values(tmp_path, version):
    path = tmp_path / "big.pt"
    big = np.array([1.0, 2.0, 3.0], dtype=">f8")
    path.write_bytes(_pygrad(storage=big) if version == 2 else _v1({"$tensor": 0}, array=big))
    t = pygrad.load(path)
    assert t._data.dtype.isnative
    assert (t * 1 + 1).tolist() == [2.0, 3.0, 4.0]  # the compiled kernels read native memory


def _safetensors(header, data=b"") -> bytes:
    raw = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(raw)) + raw + data


HOSTILE_SAFETENSORS = {
    "header longer than the file": lambda: struct.pack("<Q", 1 << 40) + b"{}",
    "header not JSON": lambda: _safetensors(b"{not json}"),
    "data past the end": lambda: _safetensors({"w": {"dtype": "F64", "shape": [3], "data_offsets": [0, 24]}}, bytes(8)),
    "shape disagrees with offsets": lambda: _safetensors(
        {"w": {"dtype": "F64", "shape": [10**9], "data_offsets": [0, 8]}}, bytes(8)),
    "bfloat16": lambda: _safetensors({"w": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}}, bytes(2)),
    "uint16": lambda: _safetensors({"w": {"dtype": "U16", "shape": [1], "data_offsets": [0, 2]}}, bytes(2)),
    "unknown dtype": lambda: _safetensors({"w": {"dtype": "PY_OBJECT", "shape": [1], "data_offsets": [0, 8]}}, bytes(8)),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_SAFETENSORS))
def test_hostile_safetensors_file_is_refused(case, tmp_path, monkeypatch):
    pytest.importorskip("safetensors")
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "x.safetensors"
    path.write_bytes(HOSTILE_SAFETENSORS[case]())
    _assert_refused(path, tmp_path)


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

_TAGS = ["$tensor", "$ndarray", "$float", "$tuple", "$size", "$dict", "$dtype", "$pickle", "$other"]
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False) | st.sampled_from(["", "x", "nan"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(_TAGS + ["requires_grad", "parameter", "ordered", "a"]), inner, max_size=3),
    max_leaves=12)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(root=_json_values, views=st.just([[0, 0, [3], [1]]]) | st.lists(
    st.lists(st.integers(-1, 3) | st.lists(st.integers(-1, 3), max_size=2), max_size=4), max_size=2) | _json_values)
def test_any_json_header_loads_or_is_refused_clearly(root, views):
    data = _pygrad(header=json.dumps({"format": "pygrad", "version": 2, "views": views, "root": root}).encode())
    try:
        pygrad.load(io.BytesIO(data))
    except pickle.UnpicklingError as e:  # CheckpointError, or the refusal of a pickled object
        assert str(e)
