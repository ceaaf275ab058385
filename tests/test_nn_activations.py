"""The activations added beside relu/gelu/elu (ops/optable_nn.py, nn/_functional_activation.py):
what the shared tables (tests/op_table_nn.py, tests/nn_cases.py) do not cover — errors, integer
inputs, in-place writes, rrelu's random slopes, module reprs and parameters — against PyTorch."""
import warnings

import numpy as np
import pytest

import pygrad
from pygrad.autograd import gradcheck, gradgradcheck

PF = pygrad.nn.functional


def _raises_like(torch, call):
    """``call(lib)`` raises on both libraries with the same type and message."""
    with pytest.raises(Exception) as ours:
        call(pygrad)
    with pytest.raises(Exception) as theirs:
        call(torch)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


ERRORS = {
    "softshrink_negative_lambd_float": lambda m: m.nn.functional.softshrink(m.ones(2), -1.0),
    "softshrink_negative_lambd_double": lambda m: m.nn.functional.softshrink(m.ones(2, dtype=m.float64), -0.25),
    "softshrink_long": lambda m: m.nn.functional.softshrink(m.tensor([1, 2])),
    "hardtanh_bounds": lambda m: m.nn.functional.hardtanh(m.ones(2), 2.0, 1.0),
    "hardtanh_bool": lambda m: m.nn.functional.hardtanh(m.tensor([True])),
    "hardsigmoid_long": lambda m: m.nn.functional.hardsigmoid(m.tensor([1, 2])),
    "hardswish_long": lambda m: m.nn.functional.hardswish(m.tensor([1, 2])),
    "selu_long": lambda m: m.nn.functional.selu(m.tensor([1, 2])),
    "celu_long": lambda m: m.nn.functional.celu(m.tensor([1, 2])),
    "celu_alpha_0": lambda m: m.nn.functional.celu(m.ones(2), 0.0),
    "mish_long": lambda m: m.nn.functional.mish(m.tensor([1, 2])),
    "logsigmoid_long": lambda m: m.nn.functional.logsigmoid(m.tensor([1, 2])),
    "hardshrink_long": lambda m: m.nn.functional.hardshrink(m.tensor([1, 2])),
    "glu_odd": lambda m: m.nn.functional.glu(m.ones(2, 3)),
    "glu_scalar": lambda m: m.nn.functional.glu(m.tensor(1.0)),
    "glu_dim": lambda m: m.nn.functional.glu(m.ones(2, 4), 2),
    "glu_long": lambda m: m.nn.functional.glu(m.tensor([1, 2])),
    "prelu_count": lambda m: m.nn.functional.prelu(m.ones(2, 3), m.ones(2)),
    "prelu_ndim": lambda m: m.nn.functional.prelu(m.ones(2, 3), m.ones(1, 3)),
    "prelu_1d_input": lambda m: m.nn.functional.prelu(m.ones(3), m.ones(3)),
    "rrelu_bounds": lambda m: m.nn.functional.rrelu(m.ones(2), 0.5, 0.1),
    "rrelu_long": lambda m: m.nn.functional.rrelu(m.tensor([1, 2])),
    "elu__long": lambda m: m.nn.functional.elu_(m.tensor([1, 2])),
    "leaky_relu__long": lambda m: m.nn.functional.leaky_relu_(m.tensor([1, 2])),
    "normalize_long": lambda m: m.nn.functional.normalize(m.tensor([[1, 2]])),
    "inplace_on_leaf": lambda m: m.nn.functional.hardtanh_(m.ones(2, requires_grad=True)),
    "selu_inplace_on_leaf": lambda m: m.nn.functional.selu(m.ones(2, requires_grad=True), inplace=True),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_are_torchs(name, torch):
    _raises_like(torch, ERRORS[name])


INTEGER_CALLS = {
    "hardtanh": lambda m: m.nn.functional.hardtanh(m.tensor([-3, 0, 1, 5]), -2, 2),
    "relu6": lambda m: m.nn.functional.relu6(m.tensor([-1, 3, 9])),
    "threshold": lambda m: m.nn.functional.threshold(m.tensor([1, 2, 3]), 1, 5),
    "softsign": lambda m: m.nn.functional.softsign(m.tensor([1, 2])),
    "tanhshrink": lambda m: m.nn.functional.tanhshrink(m.tensor([1, 2])),
    "hardtanh_int32": lambda m: m.nn.functional.hardtanh(m.tensor([-3, 0, 5], dtype=m.int32)),
}


@pytest.mark.parametrize("name", sorted(INTEGER_CALLS))
def test_integer_inputs_as_torch(name, torch):
    ours, theirs = INTEGER_CALLS[name](pygrad), INTEGER_CALLS[name](torch)
    assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


INPLACE = {  # (call on a fresh tensor x, the in-place result is x itself)
    "hardtanh_": lambda m, x: m.nn.functional.hardtanh_(x, -0.5, 0.5),
    "relu6_inplace": lambda m, x: m.nn.functional.relu6(x * 4, inplace=True),
    "elu_": lambda m, x: m.nn.functional.elu_(x, 0.5),
    "elu_inplace": lambda m, x: m.nn.functional.elu(x, 0.5, inplace=True),
    "leaky_relu_": lambda m, x: m.nn.functional.leaky_relu_(x, 0.1),
    "leaky_relu_inplace": lambda m, x: m.nn.functional.leaky_relu(x, 0.1, inplace=True),
    "selu_": lambda m, x: m.nn.functional.selu_(x),
    "celu_": lambda m, x: m.nn.functional.celu_(x, 1.5),
    "threshold_": lambda m, x: m.nn.functional.threshold_(x, 0.2, 9.0),
    "relu_": lambda m, x: m.nn.functional.relu_(x),
    "rrelu_": lambda m, x: m.nn.functional.rrelu_(x, 0.2, 0.4),
    "hardsigmoid_inplace": lambda m, x: m.nn.functional.hardsigmoid(x, True),
    "mish_inplace": lambda m, x: m.nn.functional.mish(x, True),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_writes_into_the_input_with_torchs_node(name, rng, torch):
    """The result is the input; the node and the gradient (through a clone of a leaf) are torch's,
    including threshold_'s derivative read from the result (a value above the threshold passes)."""
    a = rng.uniform(-2, 2, size=(3, 4))
    a[np.abs(a) < 0.05] += 0.1
    outs = {}
    for lib in (pygrad, torch):
        leaf = lib.tensor(a, requires_grad=True)
        x = leaf * 1
        out = INPLACE[name](lib, x)
        if "relu6" not in name:
            assert out is x
        out.backward(lib.tensor(np.arange(12.0).reshape(3, 4)))
        outs[lib.__name__] = (type(out.grad_fn).__name__, out.detach().numpy(), leaf.grad.numpy())
    assert outs["pygrad"][0] == outs["torch"][0]
    np.testing.assert_allclose(outs["pygrad"][1], outs["torch"][1], rtol=1e-12)
    np.testing.assert_allclose(outs["pygrad"][2], outs["torch"][2], rtol=1e-12)


def test_inplace_twice_is_caught_by_the_version_check(torch):
    """elu_'s node reads its result: changing it in place again before backward is an error."""
    for lib in (pygrad, torch):
        x = lib.tensor([-1.0, 2.0], requires_grad=True) * 1
        y = lib.nn.functional.elu_(x)
        y.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_rrelu_training_draws_slopes_from_the_generator():
    x = pygrad.tensor(np.linspace(-2, 2, 400).reshape(20, 20), requires_grad=True)
    pygrad.manual_seed(3)
    out = PF.rrelu(x, 0.1, 0.3, training=True)
    assert type(out.grad_fn).__name__ == "RreluWithNoiseBackward0"
    data, y = x.detach().numpy(), out.detach().numpy()
    slopes = y[data < 0] / data[data < 0]
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03  # random, within the bounds
    np.testing.assert_array_equal(y[data > 0], data[data > 0])
    out.backward(pygrad.ones_like(out))
    np.testing.assert_allclose(x.grad.numpy()[data < 0], slopes, rtol=1e-12)  # the gradient is the slope drawn
    np.testing.assert_array_equal(x.grad.numpy()[data > 0], 1.0)
    pygrad.manual_seed(3)
    np.testing.assert_array_equal(PF.rrelu(x, 0.1, 0.3, training=True).detach().numpy(), y)  # seeded
    module = pygrad.nn.RReLU(0.1, 0.3)
    pygrad.manual_seed(3)
    np.testing.assert_array_equal(module(x).detach().numpy(), y)  # a module in training mode draws too
    np.testing.assert_array_equal(module.eval()(x).detach().numpy(), PF.rrelu(x, 0.1, 0.3).detach().numpy())


def test_rrelu_training_gradcheck():
    x = pygrad.tensor(np.array([-1.5, -0.5, 0.7, 1.2]), requires_grad=True)

    def fn(t):
        pygrad.manual_seed(0)  # the same slopes at every evaluation
        return PF.rrelu(t, training=True)
    assert gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])


def test_softmin_without_dim_warns_as_torch(torch):
    texts = []
    for lib in (pygrad, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = lib.nn.functional.softmin(lib.tensor([[1.0, 2.0], [3.0, 5.0]]))
        texts.append(([str(w.message) for w in caught], out.numpy()))
    assert texts[0][0] == texts[1][0] and len(texts[0][0]) == 1
    np.testing.assert_allclose(texts[0][1], texts[1][1], rtol=1e-6)


def test_softmin_dtype_and_normalize_out(torch):
    a = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]], dtype=np.float32)
    ours = PF.softmin(pygrad.tensor(a, requires_grad=True), 1, dtype=pygrad.float64)
    theirs = torch.nn.functional.softmin(torch.tensor(a, requires_grad=True), 1, dtype=torch.float64)
    assert ours.dtype is pygrad.float64 and type(ours.grad_fn).__name__ == type(theirs.grad_fn).__name__
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
    out, t_out = pygrad.empty(2, 3), torch.empty(2, 3)
    r = PF.normalize(pygrad.tensor(a), p=1.5, dim=0, out=out)
    torch.nn.functional.normalize(torch.tensor(a), p=1.5, dim=0, out=t_out)
    assert r is out
    np.testing.assert_allclose(out.numpy(), t_out.numpy(), rtol=1e-6)
    zeros = PF.normalize(pygrad.zeros(2, 2))  # eps keeps the division finite
    np.testing.assert_array_equal(zeros.numpy(), torch.nn.functional.normalize(torch.zeros(2, 2)).numpy())


def test_prelu_weight_views_as_torch(torch):
    """F.prelu views the weight to broadcast over the channel dim: the weight's grad_fn chain and
    gradient as in PyTorch, for a 0-d input and a 0-d weight too."""
    for x_shape, w_shape in (((2, 3, 4), (3,)), ((), (1,)), ((2, 3), ()), ((3,), (1,))):
        a = np.linspace(-1, 1, int(np.prod(x_shape))).reshape(x_shape) + 0.05
        w = np.full(w_shape, 0.3)
        results = []
        for lib in (pygrad, torch):
            x, wt = lib.tensor(a, requires_grad=True), lib.tensor(w, requires_grad=True)
            out = lib.nn.functional.prelu(x, wt)
            out.sum().backward()
            names = [type(n).__name__ if n is not None else None for n, _ in out.grad_fn.next_functions]
            results.append((names, tuple(out.shape), out.detach().numpy(), x.grad.numpy(), wt.grad.numpy()))
        assert results[0][:2] == results[1][:2]
        for ours, theirs in zip(results[0][2:], results[1][2:]):
            np.testing.assert_allclose(ours, theirs, rtol=1e-12)


MODULES = [
    lambda nn: nn.Hardtanh(), lambda nn: nn.Hardtanh(-2.0, 3, inplace=True), lambda nn: nn.ReLU6(),
    lambda nn: nn.ReLU6(True), lambda nn: nn.Hardsigmoid(), lambda nn: nn.Hardsigmoid(True),
    lambda nn: nn.Hardswish(inplace=True), lambda nn: nn.SELU(), lambda nn: nn.SELU(True), lambda nn: nn.CELU(),
    lambda nn: nn.CELU(2.0, True), lambda nn: nn.Mish(), lambda nn: nn.Mish(True), lambda nn: nn.LogSigmoid(),
    lambda nn: nn.Softsign(), lambda nn: nn.Softshrink(), lambda nn: nn.Softshrink(0.3), lambda nn: nn.Hardshrink(0.2),
    lambda nn: nn.Tanhshrink(), lambda nn: nn.Threshold(0.1, 20), lambda nn: nn.Threshold(0.1, 20.0, True),
    lambda nn: nn.GLU(), lambda nn: nn.GLU(0), lambda nn: nn.PReLU(), lambda nn: nn.PReLU(3, 0.1),
    lambda nn: nn.Softmin(), lambda nn: nn.Softmin(1), lambda nn: nn.RReLU(), lambda nn: nn.RReLU(0.1, 0.3, True),
    lambda nn: nn.Sequential(nn.Linear(2, 2), nn.PReLU(2), nn.Hardswish(), nn.GLU()),
]


@pytest.mark.parametrize("index", range(len(MODULES)))
def test_module_repr_parameters_and_state_dict_as_torch(index, torch):
    ours, theirs = MODULES[index](pygrad.nn), MODULES[index](torch.nn)
    assert repr(ours) == repr(theirs)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    for (name, p), (_, q) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        if "weight" in name and p.ndim == 1:  # PReLU's slopes start at init
            np.testing.assert_allclose(p.numpy(), q.numpy())
    assert getattr(ours, "inplace", None) == getattr(theirs, "inplace", None)


def test_prelu_module_dtype_and_reset(torch):
    m = pygrad.nn.PReLU(2, init=0.5, dtype=pygrad.float64)
    assert m.weight.dtype is pygrad.float64 and m.weight.tolist() == [0.5, 0.5]
    with pygrad.no_grad():
        m.weight.fill_(1.0)
    m.reset_parameters()
    assert m.weight.tolist() == [0.5, 0.5] and m.weight.requires_grad


def test_hardtanh_module_deprecated_min_value_max_value(torch):
    for lib in (pygrad, torch):
        with pytest.warns(FutureWarning, match="keyword argument `min_value` is deprecated"):
            m = lib.nn.Hardtanh(min_value=-0.5, max_value=0.5)
        assert repr(m) == "Hardtanh(min_val=-0.5, max_val=0.5)"


@pytest.mark.parametrize("name", ["hardtanh", "hardsigmoid", "hardswish", "selu", "celu", "mish", "logsigmoid",
                                  "softshrink", "hardshrink", "glu"])
def test_float32_values_close_to_torch_at_large_inputs(name, torch):
    """Far from 0 (overflowing exp in mish/logsigmoid/selu): finite results, as torch's."""
    a = np.array([-120.0, -30.0, -3.5, 3.5, 30.0, 120.0], dtype=np.float32)
    ours = getattr(PF, name)(pygrad.tensor(a)).numpy()
    theirs = getattr(torch.nn.functional, name)(torch.tensor(a)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


TOP_LEVEL = {  # torch.<name> as PyTorch has it at the top level: no inplace argument
    "selu": lambda m, x: m.selu(x),
    "celu": lambda m, x: m.celu(x, 0.5),
    "threshold": lambda m, x: m.threshold(x, 0.25, -2.0),
    "prelu": lambda m, x: m.prelu(x, m.tensor([0.3], dtype=x.dtype)),
    "rrelu_eval": lambda m, x: m.rrelu(x, 0.1, 0.3),
    "selu_": lambda m, x: m.selu_(x.clone()),
    "celu_": lambda m, x: m.celu_(x.clone(), 2.0),
    "threshold_": lambda m, x: m.threshold_(x.clone(), 0.0, 1.5),
    "rrelu_": lambda m, x: m.rrelu_(x.clone()),
}


@pytest.mark.parametrize("name", sorted(TOP_LEVEL))
def test_top_level_activations_as_torch(name, rng, torch):
    data = rng.uniform(-2, 2, (3, 4))
    ours, theirs = pygrad.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    a, b = TOP_LEVEL[name](pygrad, ours), TOP_LEVEL[name](torch, theirs)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-15)
    assert type(a.grad_fn).__name__ == type(b.grad_fn).__name__
    a.sum().backward()
    b.sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-15)
    assert gradcheck(lambda x: TOP_LEVEL[name](pygrad, x), (pygrad.tensor(data + 0.01, requires_grad=True),))


def test_top_level_selu_takes_no_inplace_argument(torch):
    _raises_like(torch, lambda m: m.selu(m.ones(2), True))
