"""Checkpoints moving between pygrad and PyTorch, checked against real torch both ways."""
import io
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import pygrad
from pygrad import nn
from pygrad.serialization import CheckpointError

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


def _values(name):
    return np.arange(-6, 6).reshape(3, 4).astype(name)


def _pygrad_to_torch(obj, torch, tmp_path, **load_kwargs):
    path = tmp_path / "from_pygrad.pt"
    pygrad.save(obj, path, format="torch")
    return torch.load(path, weights_only=True, **load_kwargs)


def _torch_to_pygrad(obj, torch, tmp_path):
    path = tmp_path / "from_torch.pt"
    torch.save(obj, path)
    return pygrad.load(path)


@pytest.mark.parametrize("name", DTYPES)
def test_every_dtype_both_ways(torch, tmp_path, name):
    t = _pygrad_to_torch(pygrad.from_numpy(_values(name)), torch, tmp_path)
    assert t.dtype == getattr(torch, name)
    np.testing.assert_array_equal(t.numpy(), _values(name))
    back = _torch_to_pygrad(torch.from_numpy(_values(name)), torch, tmp_path)
    assert back.dtype is getattr(pygrad, name)
    np.testing.assert_array_equal(back.numpy(), _values(name))


def _storage_offset(t):
    if isinstance(t, pygrad.Tensor):  # pygrad has no storage_offset(); its storage is the base array
        from pygrad._storage import StorageTable
        return StorageTable().add(t._data)[1]
    return t.storage_offset()


def _layouts(lib, base):
    return {"transposed": base.t(), "sliced": base[1:, 1::2], "column": base[:, 2], "expanded": base[:1].expand(3, 4),
            "scalar": base[2, 3], "empty": lib.zeros(0, 3), "empty slice": base[3:]}


@pytest.mark.parametrize("direction", ["pygrad->torch", "torch->pygrad"])
def test_non_contiguous_tensors_keep_values_strides_and_offset(torch, tmp_path, direction):
    source_lib = pygrad if direction == "pygrad->torch" else torch
    base = source_lib.arange(12.0).reshape(3, 4)
    views = _layouts(source_lib, base)
    if direction == "pygrad->torch":
        out = _pygrad_to_torch(views, torch, tmp_path)
    else:
        out = _torch_to_pygrad(views, torch, tmp_path)
    for key, v in views.items():
        np.testing.assert_array_equal(np.asarray(out[key].tolist()), np.asarray(v.tolist()), err_msg=key)
        if v.numel():
            assert tuple(out[key].stride()) == tuple(v.stride()), key
            assert _storage_offset(out[key]) == _storage_offset(v), key
        elif direction == "pygrad->torch":  # an empty tensor is written contiguous, as torch makes them
            assert out[key].is_contiguous() and out[key].shape == v.shape, key


@pytest.mark.parametrize("direction", ["pygrad->torch", "torch->pygrad"])
def test_shared_storage_stays_shared(torch, tmp_path, direction):
    lib = pygrad if direction == "pygrad->torch" else torch
    base = lib.zeros(2, 3)
    obj = {"base": base, "row": base[1], "t": base.t()}
    out = (_pygrad_to_torch if direction == "pygrad->torch" else _torch_to_pygrad)(obj, torch, tmp_path)
    out["row"].fill_(5.0) if direction == "pygrad->torch" else out["row"].data.fill_(5.0)
    assert out["base"].tolist() == [[0.0] * 3, [5.0] * 3]
    assert out["t"].tolist() == [[0.0, 5.0]] * 3


def test_pygrad_flipped_tensor_is_written_as_a_copy_torch_accepts(torch, tmp_path):
    x = pygrad.from_numpy(np.arange(5.0)[::-1])  # a negative stride, which torch cannot express
    out = _pygrad_to_torch(x, torch, tmp_path)
    assert out.tolist() == [4.0, 3.0, 2.0, 1.0, 0.0]


def test_nested_containers_sizes_dtypes_and_flags(torch, tmp_path):
    def build(lib, Parameter):
        t = lib.tensor([1.0, 2.0])
        return {"list": [t, (1, 2.5, "s", None, True)], "od": OrderedDict([("b", t), ("a", lib.ones(1))]),
                "tuple": (lib.tensor([1, 2]), [lib.tensor(True)]), "size": lib.Size([2, 3]),
                "dtype": lib.float64, "param": Parameter(lib.ones(2)), "frozen": Parameter(lib.ones(1), False),
                "grad": lib.ones(1, requires_grad=True), 7: "int key", "bytes": b"\x00\xff"}

    def check(out, lib):
        assert out["list"][1] == (1, 2.5, "s", None, True) and out[7] == "int key" and out["bytes"] == b"\x00\xff"
        assert out["list"][0] is out["od"]["b"]  # one tensor saved twice loads as one
        assert type(out["od"]) is OrderedDict and list(out["od"]) == ["b", "a"]
        assert out["tuple"][0].tolist() == [1, 2] and out["tuple"][1][0].tolist() is True
        assert out["size"] == lib.Size([2, 3]) and type(out["size"]) is lib.Size
        assert out["dtype"] is lib.float64
        assert type(out["param"]).__name__ == "Parameter" and out["param"].requires_grad
        assert type(out["frozen"]).__name__ == "Parameter" and not out["frozen"].requires_grad
        assert out["grad"].requires_grad and out["grad"].is_leaf

    check(_pygrad_to_torch(build(pygrad, nn.Parameter), torch, tmp_path), torch)
    check(_torch_to_pygrad(build(torch, torch.nn.Parameter), torch, tmp_path), pygrad)


def _models(torch):
    t = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.BatchNorm1d(5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    p = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2))
    return t, p


@pytest.mark.parametrize("direction", ["torch->pygrad", "pygrad->torch"])
def test_state_dict_runs_in_the_other_library(torch, tmp_path, direction):
    t_model, p_model = _models(torch)
    if direction == "torch->pygrad":
        t_model(torch.randn(8, 4))  # move the running statistics away from their initial values
        p_model.load_state_dict(_torch_to_pygrad(t_model.state_dict(), torch, tmp_path))
    else:
        p_model(pygrad.randn(8, 4))
        t_model.load_state_dict(_pygrad_to_torch(p_model.state_dict(), torch, tmp_path))
    t_model.eval()
    p_model.eval()
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(p_model(pygrad.from_numpy(x)).detach().numpy(),
                               t_model(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_pygrad_files_are_aligned_for_torch_mmap(torch, tmp_path):
    out = _pygrad_to_torch({"a": pygrad.ones(3), "b": pygrad.arange(5)}, torch, tmp_path, mmap=True)
    assert out["a"].tolist() == [1.0] * 3 and out["b"].tolist() == list(range(5))
    with zipfile.ZipFile(tmp_path / "from_pygrad.pt") as z:
        for info in z.infolist():
            if "/data/" in info.filename:
                assert (info.header_offset + 30 + len(info.filename) + len(info.extra)) % 64 == 0


def test_malicious_torch_file_is_refused_naming_the_global(torch, tmp_path):
    marker = tmp_path / "marker"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    torch.save({"weights": torch.ones(2), "payload": Payload()}, path)
    with pytest.raises(pickle.UnpicklingError, match=r"Unsupported global: GLOBAL (posix|os|nt)\.system"):
        pygrad.load(path)
    with pytest.raises(pickle.UnpicklingError, match=r"system"):  # torch refuses it the same way
        torch.load(path, weights_only=True)
    assert not marker.exists()


def test_torch_only_dtypes_get_a_clear_error(torch, tmp_path):
    for t, name in [(torch.ones(2, dtype=torch.bfloat16), "BFloat16"), (torch.ones(2, dtype=torch.complex64), "Complex")]:
        path = tmp_path / "x.pt"
        torch.save({"w": t}, path)
        with pytest.raises(CheckpointError, match=f"torch.{name}.*pygrad has no such dtype"):
            pygrad.load(path)


def test_big_endian_torch_file_loads_with_the_right_values(torch, tmp_path):
    path = tmp_path / "little.pt"
    torch.save({"x": torch.tensor([1.5, -2.0, 3.25], dtype=torch.float64)}, path)
    swapped = tmp_path / "big.pt"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(swapped, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("/byteorder"):
                data = b"big"
            elif "/data/" in info.filename:
                data = np.frombuffer(data, "<f8").astype(">f8").tobytes()
            dst.writestr(info.filename, data)
    out = pygrad.load(swapped)["x"]
    assert out._data.dtype.isnative
    assert (out * 1 + 1).tolist() == [2.5, -1.0, 4.25]


def test_safetensors_state_dicts_both_ways(torch, tmp_path):
    st = pytest.importorskip("safetensors.torch")
    t_model, p_model = _models(torch)
    path = tmp_path / "p.safetensors"
    pygrad.save(p_model.state_dict(), path, format="safetensors")
    t_model.load_state_dict(st.load_file(path))
    for k, v in p_model.state_dict().items():
        np.testing.assert_array_equal(t_model.state_dict()[k].numpy(), v.numpy())
    t_model(torch.randn(8, 4))  # changes the running statistics
    st.save_file(t_model.state_dict(), tmp_path / "t.safetensors")
    p_model.load_state_dict(pygrad.load(tmp_path / "t.safetensors"))
    for k, v in t_model.state_dict().items():
        np.testing.assert_array_equal(p_model.state_dict()[k].numpy(), v.numpy())


@pytest.mark.parametrize("name", DTYPES)
def test_safetensors_dtypes_round_trip(tmp_path, name):
    pytest.importorskip("safetensors")
    path = tmp_path / "x.safetensors"
    pygrad.save({"x": pygrad.from_numpy(_values(name)).t()}, path, format="safetensors")
    out = pygrad.load(path)["x"]
    assert out.dtype is getattr(pygrad, name)
    np.testing.assert_array_equal(out.numpy(), _values(name).T)


def test_safetensors_refuses_what_it_cannot_hold(tmp_path):
    pytest.importorskip("safetensors")
    with pytest.raises(TypeError, match="dict of"):
        pygrad.save({"x": [pygrad.ones(1)]}, io.BytesIO(), format="safetensors")


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown format 'onnx'"):
        pygrad.save({}, io.BytesIO(), format="onnx")


def test_torch_format_refuses_objects_it_would_have_to_pickle(tmp_path):
    with pytest.raises(TypeError, match="cannot write a Linear"):
        pygrad.save(nn.Linear(2, 2), tmp_path / "m.pt", format="torch")
    assert list(tmp_path.iterdir()) == []  # nothing half-written is left behind


def test_legacy_non_zip_files_load(torch, tmp_path):
    base = torch.arange(12.0).reshape(3, 4)
    obj = {name: torch.from_numpy(_values(name)) for name in DTYPES}
    obj.update({"base": base, "view": base.t()[1:], "param": torch.nn.Parameter(torch.ones(2))})
    path = tmp_path / "legacy.pt"
    torch.save(obj, path, _use_new_zipfile_serialization=False)
    out = pygrad.load(path)
    for name in DTYPES:
        assert out[name].dtype is getattr(pygrad, name)
        np.testing.assert_array_equal(out[name].numpy(), _values(name))
    assert out["view"].tolist() == base.t()[1:].tolist() and type(out["param"]) is nn.Parameter
    out["base"].data.fill_(0.0)
    assert out["view"].tolist() == [[0.0] * 3] * 3  # still a view of the same storage
