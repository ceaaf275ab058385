"""pygrad.save / pygrad.load: round trips, sharing, and never running code from a file by default."""
import io
import json
import os
import pickle
import stat
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import pygrad
from pygrad import nn


def _round_trip(obj, **kwargs):
    buf = io.BytesIO()
    pygrad.save(obj, buf)
    buf.seek(0)
    return pygrad.load(buf, **kwargs)


def test_tensors_and_parameters_round_trip():
    t = pygrad.tensor([[1.5, -2.0], [0.25, 3.0]], dtype=pygrad.float64)
    i = pygrad.tensor([1, 2, 3])
    b = pygrad.tensor([True, False])
    s = pygrad.tensor(7.0)
    r = pygrad.tensor([1.0], requires_grad=True)
    p = nn.Parameter(pygrad.ones(2))
    out = _round_trip([t, i, b, s, r, p])
    for x, y in zip(out, [t, i, b, s, r, p]):
        assert type(x) is type(y) and x.dtype is y.dtype and x.shape == y.shape
        assert x.requires_grad == y.requires_grad and x.grad_fn is None
        np.testing.assert_array_equal(x.detach().numpy(), y.detach().numpy())
    assert out[3].shape == pygrad.Size([])


def test_nested_python_values_round_trip():
    obj = {"a": 1, "b": [1.5, float("inf"), float("nan"), None, True, "text"], 3: (1, (2, 3)),
           "od": OrderedDict([("x", pygrad.zeros(1))]), "size": pygrad.Size([2, 3]), "dt": pygrad.float64,
           (1, 2): "tuple key", "arr": np.arange(3)}
    out = _round_trip(obj)
    assert out["a"] == 1 and out[3] == (1, (2, 3)) and out[(1, 2)] == "tuple key"
    assert out["b"][:2] == [1.5, float("inf")] and np.isnan(out["b"][2]) and out["b"][3:] == [None, True, "text"]
    assert type(out["od"]) is OrderedDict and out["od"]["x"].tolist() == [0.0]
    assert out["size"] == pygrad.Size([2, 3]) and isinstance(out["size"], pygrad.Size)
    assert out["dt"] is pygrad.float64
    np.testing.assert_array_equal(out["arr"], np.arange(3))


def test_shared_tensors_stay_shared():
    t = pygrad.ones(3)
    out = _round_trip({"x": t, "y": t, "z": [t]})
    assert out["x"] is out["y"] is out["z"][0]


def test_model_and_optimizer_checkpoint(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = pygrad.optim.Adam(model.parameters(), lr=0.01)
    model(pygrad.ones(2, 3)).sum().backward()
    opt.step()
    path = tmp_path / "ckpt.pt"
    pygrad.save({"model": model.state_dict(), "optim": opt.state_dict(), "epoch": 3}, path)
    ckpt = pygrad.load(path)
    fresh = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    fresh.load_state_dict(ckpt["model"])
    for a, b in zip(model.parameters(), fresh.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    opt2 = pygrad.optim.Adam(fresh.parameters(), lr=0.01)
    opt2.load_state_dict(ckpt["optim"])
    assert ckpt["epoch"] == 3 and opt2.state_dict()["param_groups"] == opt.state_dict()["param_groups"]
    assert opt2.state_dict()["state"][0]["step"].tolist() == 1.0
    with zipfile.ZipFile(path) as z:  # the documented layout: JSON plus .npy arrays, nothing else
        names = sorted(z.namelist())
        assert names[0] == "pygrad.json" and all(n.startswith("storages/") and n.endswith(".npy") for n in names[1:])
        assert all(info.compress_type == zipfile.ZIP_STORED for info in z.infolist())
        assert json.loads(z.read("pygrad.json"))["format"] == "pygrad"


class _Evil:
    def __reduce__(self):
        return (exec, ("import builtins; builtins.PWNED = True",))


def test_pickled_objects_need_weights_only_false():
    import builtins
    buf = io.BytesIO()
    pygrad.save({"payload": _Evil()}, buf)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        pygrad.load(buf)
    assert not hasattr(builtins, "PWNED")
    buf.seek(0)
    pygrad.load(buf, weights_only=False)  # explicitly trusted: the payload runs
    assert builtins.PWNED is True
    del builtins.PWNED


def test_whole_module_saves_by_pickle_and_loads_only_when_trusted():
    model = nn.Linear(2, 1)
    buf = io.BytesIO()
    pygrad.save(model, buf)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError):
        pygrad.load(buf)
    buf.seek(0)
    loaded = pygrad.load(buf, weights_only=False)
    assert type(loaded.weight) is nn.Parameter
    np.testing.assert_array_equal(loaded.weight.detach().numpy(), model.weight.detach().numpy())


def test_raw_pickle_or_npy_with_objects_is_refused(tmp_path):
    path = tmp_path / "raw.pkl"
    path.write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(pickle.UnpicklingError, match="not a zip archive"):
        pygrad.load(path)
    evil = tmp_path / "evil.pt"
    with zipfile.ZipFile(evil, "w") as z:  # a crafted file whose array is a pickled object array
        z.writestr("pygrad.json", json.dumps({"format": "pygrad", "version": 1, "root": {"$ndarray": 0}}))
        b = io.BytesIO()
        np.save(b, np.array([_Evil()], dtype=object), allow_pickle=True)
        z.writestr("arrays/0.npy", b.getvalue())
    with pytest.raises(ValueError, match="allow_pickle"):
        pygrad.load(evil)


def test_tensor_pickles_without_graph():
    x = pygrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = pickle.loads(pickle.dumps(y))
    assert z.grad_fn is None and z.tolist() == [2.0, 4.0]


def test_views_share_storage_with_their_base_after_a_round_trip(torch):
    base = pygrad.arange(12.0).reshape(3, 4)
    obj = {"base": base, "row": base[1], "t": base.t(), "cols": base[:, 1::2], "expanded": base[:1].expand(2, 4)}
    out = _round_trip(obj)
    out["row"].data.fill_(-1.0)
    # torch, the oracle: the same views after torch.save / torch.load see the same write
    t_base = torch.arange(12.0).reshape(3, 4)
    t_obj = {"base": t_base, "row": t_base[1], "t": t_base.t(), "cols": t_base[:, 1::2], "expanded": t_base[:1].expand(2, 4)}
    buf = io.BytesIO()
    torch.save(t_obj, buf)
    buf.seek(0)
    t_out = torch.load(buf)
    t_out["row"].fill_(-1.0)
    for k in obj:
        assert out[k].tolist() == t_out[k].tolist(), k
        assert out[k].stride() == t_out[k].stride(), k


def test_save_is_atomic_an_interrupted_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    pygrad.save({"w": pygrad.ones(3)}, path)
    calls = []

    def crash(*args, **kwargs):
        calls.append(1)
        raise KeyboardInterrupt  # the process is stopped mid-save

    monkeypatch.setattr(np.lib.format, "write_array", crash)
    with pytest.raises(KeyboardInterrupt):
        pygrad.save({"w": pygrad.zeros(3)}, path)
    assert calls and pygrad.load(path)["w"].tolist() == [1.0, 1.0, 1.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt"]  # no temporary file left


def test_save_keeps_the_permissions_of_the_file_it_replaces(tmp_path):
    path = tmp_path / "ckpt.pt"
    pygrad.save(1, path)
    os.chmod(path, 0o600)
    pygrad.save(2, path)
    assert pygrad.load(path) == 2 and stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_save_through_a_symlink_writes_the_target(tmp_path):
    target = tmp_path / "real.pt"
    link = tmp_path / "link.pt"
    pygrad.save(1, target)
    link.symlink_to(target)
    pygrad.save(2, link)
    assert link.is_symlink() and pygrad.load(target) == 2


def test_load_reads_arrays_without_a_second_copy(tmp_path):
    import tracemalloc
    n = 8 << 20
    path = tmp_path / "big.pt"
    pygrad.save(pygrad.zeros(n // 8, dtype=pygrad.float64), path)
    tracemalloc.start()
    try:
        t = pygrad.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert t.shape == (n // 8,)
    assert peak < n * 1.3, f"peak {peak / n:.2f}x the array"


def test_version_1_files_still_load():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("pygrad.json", json.dumps({"format": "pygrad", "version": 1, "root": {
            "$dict": [["w", {"$tensor": 0, "requires_grad": True, "parameter": True}], ["a", {"$ndarray": 1}]],
            "ordered": True}}))
        for i, a in enumerate([np.asfortranarray([[1.0, 2.0], [3.0, 4.0]], np.float32), np.arange(3)]):
            b = io.BytesIO()
            np.save(b, a)
            z.writestr(f"arrays/{i}.npy", b.getvalue())
    buf.seek(0)
    out = pygrad.load(buf)
    assert type(out["w"]) is nn.Parameter and out["w"].requires_grad and out["w"].tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert out["a"].tolist() == [0, 1, 2]
