"""Module mechanics: registration, iteration, modes, state_dict, repr and Parameter, against PyTorch."""
import copy
import pickle

import numpy as np
import pytest

import pygrad
from pygrad import nn


def _net(nn_):
    class Net(nn_.Module):
        def __init__(self):
            super().__init__()
            self.features = nn_.Sequential(nn_.Linear(3, 4), nn_.ReLU(), nn_.Dropout(0.1))
            self.head = nn_.Linear(4, 2, bias=False)
            self.register_buffer("running", nn_.Parameter(pygrad_or(nn_).zeros(2), requires_grad=False).detach())
            self.register_buffer("scratch", pygrad_or(nn_).ones(1), persistent=False)
            self.blocks = nn_.ModuleList([nn_.Linear(2, 2) for _ in range(3)])
            self.table = nn_.ModuleDict({"a": nn_.Tanh(), "b": nn_.Sigmoid()})

        def forward(self, x):
            return self.head(self.features(x))
    return Net()


def pygrad_or(nn_):
    import sys
    return sys.modules[nn_.__name__.rsplit(".", 1)[0]]


def test_names_iteration_and_repr_match_torch(torch):
    ours, theirs = _net(nn), _net(torch.nn)
    assert repr(ours) == repr(theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert list(ours.state_dict().keys()) == list(theirs.state_dict().keys())
    assert len(list(ours.parameters())) == len(list(theirs.parameters())) == 9
    assert [type(m).__name__ for m in ours.modules()] == [type(m).__name__ for m in theirs.modules()]
    assert [type(m).__name__ for m in ours.children()] == [type(m).__name__ for m in theirs.children()]


@pytest.mark.parametrize("build", [
    lambda nn_: nn_.Sequential(),
    lambda nn_: nn_.Module(),
    lambda nn_: nn_.ModuleList([nn_.Linear(2, 2), nn_.Linear(2, 2), nn_.ReLU(), nn_.Linear(2, 2)]),
    lambda nn_: nn_.Sequential(nn_.Conv2d(1, 8, 3, padding=1, bias=False), nn_.MaxPool2d(2, 1),
                               nn_.Flatten(0), nn_.Embedding(4, 2, padding_idx=1), nn_.LayerNorm([2, 3]),
                               nn_.ReLU(inplace=True), nn_.LeakyReLU(), nn_.GELU("tanh"), nn_.ELU(alpha=0.5),
                               nn_.Softplus(beta=2), nn_.SiLU(), nn_.Softmax(), nn_.LogSoftmax(dim=0),
                               nn_.Identity(), nn_.MSELoss(reduction="sum"), nn_.L1Loss(), nn_.NLLLoss(),
                               nn_.CrossEntropyLoss(label_smoothing=0.1), nn_.BCELoss(),
                               nn_.BCEWithLogitsLoss(), nn_.Dropout()),
])
def test_repr_matches_torch(build, torch):
    assert repr(build(nn)) == repr(build(torch.nn))


def test_parameter_repr_and_leafness(torch):
    for data in ([1.0, 2.0], [[0.5, -1.25]]):
        for dt in ("float32", "float64"):
            p = nn.Parameter(pygrad.tensor(data, dtype=getattr(pygrad, dt)))
            q = torch.nn.Parameter(torch.tensor(data, dtype=getattr(torch, dt)))
            assert repr(p) == repr(q) and str(p) == str(q)
            assert p.is_leaf and p.requires_grad and p.grad_fn is None
    frozen = nn.Parameter(pygrad.ones(2), requires_grad=False)
    assert repr(frozen) == repr(torch.nn.Parameter(torch.ones(2), requires_grad=False))
    assert isinstance(frozen, pygrad.Tensor) and isinstance(frozen, nn.Parameter)


def test_parameter_shares_storage_and_ops_return_tensors():
    t = pygrad.tensor([1.0, 2.0])
    p = nn.Parameter(t)
    with pygrad.no_grad():
        t.fill_(3.0)
    assert p.tolist() == [3.0, 3.0]
    y = p * 2
    assert type(y) is pygrad.Tensor and type(y.grad_fn).__name__ == "MulBackward0"
    assert type(p.detach()) is pygrad.Tensor


def test_parameter_pickle_and_deepcopy_keep_the_type():
    p = nn.Parameter(pygrad.tensor([1.0, 2.0]))
    p.grad = pygrad.tensor([0.5, 0.5])
    q = pickle.loads(pickle.dumps(p))
    assert type(q) is nn.Parameter and q.requires_grad and q.tolist() == [1.0, 2.0]
    r = copy.deepcopy(p)
    assert type(r) is nn.Parameter and r.grad.tolist() == [0.5, 0.5]
    assert r._data is not p._data
    model = nn.Sequential(nn.Linear(2, 2))
    clone = copy.deepcopy(model)
    assert type(clone[0].weight) is nn.Parameter
    np.testing.assert_array_equal(clone[0].weight.detach().numpy(), model[0].weight.detach().numpy())


def test_attribute_assignment_rules_and_errors(torch):
    for lib in (nn, torch.nn):
        m = lib.Linear(3, 2)
        with pytest.raises(TypeError) as exc:
            m.weight = (pygrad if lib is nn else torch).zeros(2, 3)
        if lib is nn:
            ours = str(exc.value)
        else:
            assert ours == str(exc.value)
    m = nn.Linear(3, 2)
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'foo'"):
        m.foo
    with pytest.raises(TypeError, match=r"cannot assign 'int' object to buffer 'a' \(torch Tensor or None required\)"):
        m.register_buffer("a", 3)
    m.extra = nn.Parameter(pygrad.zeros(1))
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias", "extra"]
    del m.extra
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    m.bias = None
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    assert "bias" in m.state_dict() or list(m.state_dict()) == ["weight"]
    with pytest.raises(NotImplementedError, match='Module \\[Module\\] is missing the required "forward" function'):
        nn.Module()(1)


def test_train_eval_and_requires_grad():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(), nn.Linear(2, 1)))
    assert all(m.training for m in model.modules())
    assert model.eval() is model and not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model[0].requires_grad_(False)
    assert [p.requires_grad for p in model.parameters()] == [False, False, True, True]


def test_zero_grad_modes():
    model = nn.Linear(2, 1)
    model(pygrad.ones(3, 2)).sum().backward()
    assert model.weight.grad is not None
    model.zero_grad(set_to_none=False)
    assert model.weight.grad.tolist() == [[0.0, 0.0]]
    model.zero_grad()
    assert model.weight.grad is None and model.bias.grad is None


def test_apply_visits_children_first():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Linear(2, 1)))
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]

    def init(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)
    model.apply(init)
    assert model[1][1].weight.tolist() == [[0.5, 0.5]]


def test_sequential_and_modulelist_indexing():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear) and isinstance(seq[1], nn.ReLU)
    assert isinstance(seq[0:2], nn.Sequential) and len(seq[0:2]) == 2
    with pytest.raises(IndexError, match="index 3 is out of range"):
        seq[3]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and list(seq._modules) == ["0", "1", "2", "3"]
    del seq[1]
    assert list(seq._modules) == ["0", "1", "2"] and isinstance(seq[1], nn.Linear)
    ml = nn.ModuleList([nn.ReLU()])
    ml.append(nn.Linear(1, 1))
    ml += [nn.Tanh()]
    assert len(ml) == 3 and len(list(ml.parameters())) == 2
    md = nn.ModuleDict({"x": nn.Linear(1, 1)})
    md["y"] = nn.ReLU()
    assert list(md.keys()) == ["x", "y"] and "x" in md and len(md) == 2


def test_state_dict_round_trip_and_in_place_load():
    a, b = _net(nn), _net(nn)
    weight = b.features[0].weight
    sd = a.state_dict()
    assert all(not t.requires_grad for t in sd.values())
    assert "scratch" not in sd
    result = b.load_state_dict(sd)
    assert repr(result) == "<All keys matched successfully>"
    assert b.features[0].weight is weight  # copied in place
    for (k, v), (k2, v2) in zip(a.state_dict().items(), b.state_dict().items()):
        assert k == k2
        np.testing.assert_array_equal(v.numpy(), v2.numpy())
    # state_dict values share storage with the parameters, as in torch
    with pygrad.no_grad():
        sd["head.weight"].fill_(7.0)
    assert a.head.weight.tolist()[0][0] == 7.0


def test_load_state_dict_errors_match_torch(torch):
    msgs = []
    for lib, mod in ((nn, pygrad), (torch.nn, torch)):
        layer = lib.Linear(3, 2)
        with pytest.raises(RuntimeError) as exc:
            layer.load_state_dict({"weight": mod.zeros(3, 3), "foo": mod.zeros(1)})
        msgs.append(str(exc.value))
        r = layer.load_state_dict({"weight": mod.zeros(2, 3)}, strict=False)
        msgs.append(repr(r))
        assert r.missing_keys == ["bias"] and r.unexpected_keys == []
    assert msgs[0] == msgs[2] and msgs[1] == msgs[3]


def test_load_torch_state_dict_values(torch):
    ref = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    ours = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    ours.load_state_dict({k: pygrad.from_numpy(v.numpy()) for k, v in ref.state_dict().items()})
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
    np.testing.assert_allclose(ours(pygrad.tensor(x)).detach().numpy(),
                               ref(torch.tensor(x)).detach().numpy(), rtol=1e-6, atol=1e-7)


def test_to_double_casts_parameters():
    model = nn.Linear(2, 2).double()
    assert model.weight.dtype is pygrad.float64 and type(model.weight) is nn.Parameter
    out = model(pygrad.ones(1, 2, dtype=pygrad.float64))
    assert out.dtype is pygrad.float64


def test_forward_hooks():
    model = nn.Linear(2, 2)
    calls = []
    h = model.register_forward_hook(lambda m, inp, out: calls.append(out.shape))
    model(pygrad.ones(1, 2))
    h.remove()
    model(pygrad.ones(1, 2))
    assert calls == [pygrad.Size([1, 2])]


def test_deep_model_walks_without_recursion():
    model = nn.Linear(1, 1)
    for _ in range(1500):
        model = nn.Sequential(model)
    assert len(list(model.modules())) == 1501
    assert len(model.state_dict()) == 2 and len(list(model.parameters())) == 2
    seen = []
    model.apply(seen.append)
    assert len(seen) == 1501 and isinstance(seen[0], nn.Linear)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, rng, torch):
    grads = [rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(4).astype(np.float32)]
    ours = [nn.Parameter(pygrad.zeros(*g.shape)) for g in grads]
    theirs = [torch.nn.Parameter(torch.zeros(*g.shape)) for g in grads]
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = pygrad.tensor(g), torch.tensor(g)
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    ref = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    np.testing.assert_allclose(total.item(), ref.item(), rtol=1e-6)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6, atol=1e-7)
    nn.utils.clip_grad_value_(ours, 0.01)
    torch.nn.utils.clip_grad_value_(theirs, 0.01)
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())


def test_parameters_vector_round_trip():
    model = nn.Linear(3, 2)
    vec = nn.utils.parameters_to_vector(model.parameters())
    assert vec.shape == pygrad.Size([8])
    nn.utils.vector_to_parameters(vec * 0 + 1, model.parameters())
    assert model.weight.tolist() == [[1.0] * 3] * 2 and model.bias.tolist() == [1.0, 1.0]


def test_inplace_activation_modules(torch):
    x = pygrad.tensor([-1.0, 2.0])
    y = nn.ReLU(inplace=True)(x)
    assert y is x and x.tolist() == [0.0, 2.0]
    z = pygrad.tensor([[-1.0, 2.0]])
    out = nn.Dropout(0.5, inplace=True)(z)
    assert out is z
