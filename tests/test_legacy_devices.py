"""Legacy names (Variable, typed tensor classes, Tensor.type, size_average/reduce) and the device API,
compared with PyTorch."""
import warnings

import numpy as np
import pytest

import pygrad


def _messages(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, [(w.category, str(w.message)) for w in caught]


def _error(fn):
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value), str(info.value)


def test_variable_is_a_detached_tensor_with_the_asked_requires_grad(torch):
    for m in (pygrad, torch):
        base = m.ones(2, requires_grad=True) * 2
        v = m.autograd.Variable(base)
        assert type(v) is m.Tensor and v.grad_fn is None and not v.requires_grad
        assert isinstance(base, m.autograd.Variable) and not isinstance(1.0, m.autograd.Variable)
        w = m.autograd.Variable(m.tensor([1., 2.]), requires_grad=True)
        (w * w).sum().backward()
        assert w.grad.tolist() == [2., 4.]
    ours, theirs = (_messages(lambda m=m: m.autograd.Variable(m.ones(1), volatile=True)) for m in (pygrad, torch))
    assert ours[1] == theirs[1] and len(ours[1]) == 1
    assert _error(lambda: pygrad.autograd.Variable([1.])) == _error(lambda: torch.autograd.Variable([1.]))
    assert _error(lambda: pygrad.autograd.Variable(pygrad.ones(1, dtype=pygrad.long), requires_grad=True)) == \
        _error(lambda: torch.autograd.Variable(torch.ones(1, dtype=torch.long), requires_grad=True))


NAMES = ["FloatTensor", "DoubleTensor", "HalfTensor", "ByteTensor", "CharTensor", "ShortTensor", "IntTensor",
         "LongTensor", "BoolTensor"]


@pytest.mark.parametrize("name", NAMES)
def test_typed_tensor_names_construct_and_check_like_torch(torch, name):
    ours, theirs = getattr(pygrad, name), getattr(torch, name)
    assert repr(ours) == repr(theirs) and ours.dtype == getattr(pygrad, str(theirs.dtype)[6:])
    for args in [([1, 0, 2],), ([[1, 2], [3, 4]],), ()]:
        a, b = ours(*args), theirs(*args)
        assert str(a) == str(b) and isinstance(a, ours) and isinstance(b, theirs)
    assert ours(2, 3).shape == theirs(2, 3).shape and ours(pygrad.Size([4])).shape == (4,)
    for other in NAMES:
        x, y = getattr(pygrad, other)([1]), getattr(torch, other)([1])
        assert isinstance(x, ours) == isinstance(y, theirs)
        assert _error(lambda: ours(x)) == _error(lambda: theirs(y)) if other != name else ours(x).tolist() == [1]
    assert _error(lambda: ours(2.5)) == _error(lambda: theirs(2.5))
    assert _error(lambda: ours([1], requires_grad=True)) == _error(lambda: theirs([1], requires_grad=True))


def test_tensor_type_names_and_casts(torch):
    for m in (pygrad, torch):
        x = m.tensor([1.5, -2.0])
        assert x.type() == "torch.FloatTensor" and x.long().type() == "torch.LongTensor"
        assert x.type(m.FloatTensor) is x
        assert x.type(m.DoubleTensor).dtype == m.float64 and x.type("torch.DoubleTensor").dtype == m.float64
        assert x.type(m.int64).tolist() == [1, -2] and x.type(m.LongTensor).tolist() == [1, -2]
        assert isinstance(m.nn.Parameter(x), m.FloatTensor)
    assert _error(lambda: pygrad.ones(1).type("torch.Foo")) == _error(lambda: torch.ones(1).type("torch.Foo"))
    assert _error(lambda: pygrad.ones(1).type("float")) == _error(lambda: torch.ones(1).type("float"))


@pytest.mark.parametrize("kwargs", [dict(size_average=False), dict(reduce=False), dict(size_average=True),
                                    dict(size_average=False, reduce=True), dict(reduce=True)])
def test_size_average_and_reduce_warn_and_map_like_torch(torch, kwargs):
    x, y = np.array([[1., -2.], [0.5, 3.]], np.float32), np.array([[0., 1.], [1., 1.]], np.float32)
    for loss in ["MSELoss", "L1Loss", "SmoothL1Loss", "BCEWithLogitsLoss"]:
        (ours, w1), (theirs, w2) = (_messages(lambda m=m: getattr(m.nn, loss)(**kwargs)) for m in (pygrad, torch))
        assert ours.reduction == theirs.reduction and w1 == w2 and len(w1) == 1
        assert np.allclose(ours(pygrad.tensor(x), pygrad.tensor(y)).numpy(),
                           theirs(torch.tensor(x), torch.tensor(y)).numpy())
    for fn in ["mse_loss", "l1_loss", "binary_cross_entropy_with_logits"]:
        (a, w1), (b, w2) = (_messages(lambda m=m: getattr(m.nn.functional, fn)(m.tensor(x), m.tensor(y), **kwargs))
                            for m in (pygrad, torch))
        assert w1 == w2 and np.allclose(a.numpy(), b.numpy())


def test_torch_functional_module():
    import pygrad.functional as functional
    from pygrad.functional import einsum
    assert einsum is pygrad.einsum and functional.meshgrid is pygrad.meshgrid
    with pytest.raises(AttributeError):
        functional.relu  # noqa: B018 - not part of torch.functional


def test_accelerator_and_default_device_as_on_a_cpu_torch(torch):
    for m in (pygrad, torch):
        assert m.accelerator.is_available() is False and m.accelerator.current_accelerator() is None
        assert m.accelerator.device_count() == 0
        m.set_default_device("cpu")
        assert m.get_default_device() == m.device("cpu")
        m.set_default_device(None)
        assert m.get_default_device() == m.device("cpu")
    assert _error(pygrad.accelerator.current_device_index) == _error(torch.accelerator.current_device_index)
    with pytest.raises(RuntimeError, match="CPU only"):
        pygrad.set_default_device("cuda")


def test_to_accepts_torch_forms_for_tensors_and_modules(torch):
    for m in (pygrad, torch):
        x = m.ones(2)
        cpu = m.device("cpu")
        assert x.to(cpu) is x and x.to(cpu, m.float64).dtype == m.float64
        assert x.to("cpu", m.float64, non_blocking=True).dtype == m.float64
        assert x.to(device=cpu, dtype=m.float64).dtype == m.float64 and x.to(m.float64, copy=True).dtype == m.float64
        assert x.to(m.ones(1, dtype=m.int64)).dtype == m.int64 and x.to(cpu, copy=True) is not x
        model = m.nn.Linear(2, 2)
        assert model.to(cpu) is model and model.to(device=cpu, non_blocking=True) is model
        assert model.cpu() is model and model.to(cpu, m.float64).weight.dtype == m.float64
        assert model.to(m.ones(1)).weight.dtype == m.float32
    for call in [lambda m: m.ones(1).to("cpu", "float"), lambda m: m.ones(1).to(1, 2, 3),
                 lambda m: m.nn.Linear(1, 1).to("cpu", "float"), lambda m: m.nn.Linear(1, 1).to(m.int64),
                 lambda m: m.ones(1).to(m.float64, bogus=1)]:
        assert _error(lambda: call(pygrad)) == _error(lambda: call(torch))
    with pytest.raises(RuntimeError, match="CPU only"):
        pygrad.nn.Linear(1, 1).to(pygrad.device("cuda"))
