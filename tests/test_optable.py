"""The op table's generated cases: every differentiable table op against torch and gradcheck.

The cases come from the table itself (``pygrad.ops.optable.OPS``); an op only needs a row in
``DOMAINS`` when its inputs must stay in part of the real line.
"""
import numpy as np
import pytest

import pygrad
from pygrad.autograd import gradcheck, gradgradcheck
from pygrad.ops import optable
from pygrad.ops._opdef import ARRAY_NS, _compile, saved_names

# Where each op's inputs are drawn (default (-2, 2)); inputs keep 0.1 away from ``away``.
DOMAINS = {
    "log": (0.2, 3.0), "sqrt": (0.2, 3.0), "rsqrt": (0.2, 3.0), "log2": (0.2, 3.0), "log10": (0.2, 3.0),
    "log1p": (-0.5, 2.0), "reciprocal": (0.3, 2.0), "asin": (-0.8, 0.8), "acos": (-0.8, 0.8),
    "atanh": (-0.8, 0.8), "acosh": (1.2, 3.0), "erfinv": (-0.8, 0.8), "logit": (0.1, 0.9),
    "lgamma": (0.2, 4.0), "digamma": (0.2, 4.0), "div": (0.5, 2.0), "xlogy": (0.2, 2.0),
    "fmod": (0.5, 2.0), "remainder": (0.5, 2.0), "atan2": (0.3, 2.0), "addcdiv": (0.5, 2.0),
    "_pow_number": (0.2, 2.0), "_pow_tensor": (0.2, 2.0), "_number_pow": (0.2, 2.0),
}
AWAY = {"abs": (0.0,), "relu": (0.0,), "leaky_relu": (0.0,), "elu": (0.0,), "frac": (-1.0, 0.0, 1.0),
        "copysign": (0.0,), "fmod": (1.0,), "remainder": (1.0,)}
# Not smooth or not differentiable: values, dtypes and names only.
NO_GRADCHECK = {"sign", "sgn", "floor", "ceil", "trunc", "round", "maximum", "minimum", "fmod", "remainder"}


# The required number arguments of an op, after its tensors.
NUMBERS = {"threshold": (0.3, -1.0)}
AWAY.update({"threshold": (0.3,), "hardtanh": (-1.0, 1.0), "softshrink": (-0.5, 0.5), "hardshrink": (-0.5, 0.5),
             "selu": (0.0,), "celu": (0.0,)})


def _with_numbers(op, fn):
    numbers = NUMBERS.get(op.name, ())
    return (lambda *tensors: fn(*tensors, *numbers)) if numbers else fn


def _torch_fn(torch, op):
    return _with_numbers(op, getattr(torch.nn.functional, op.name) if not op.function else getattr(torch, op.name))


def _pygrad_fn(op):
    return _with_numbers(op, getattr(pygrad.nn.functional, op.name) if not op.function else getattr(pygrad, op.name))


def _inputs(op, rng, dtype=np.float64):
    low, high = DOMAINS.get(op.name, (-2.0, 2.0))
    arrays = []
    for shape in ((3, 4), (4,), (3, 1))[:len(op.inputs)]:
        a = rng.uniform(low, high, size=shape)
        for k in AWAY.get(op.name, ()):
            near = np.abs(a - k) < 0.1
            a[near] = k + 0.15 * np.sign(a[near] - k + 1e-12)
        arrays.append(a.astype(dtype))
    return arrays


CASES = [op for op in optable.OPS if op.node is not None and (op.function or op.functional)]


@pytest.mark.parametrize("op", CASES, ids=[op.name for op in CASES])
def test_matches_torch(op, rng):
    torch = pytest.importorskip("torch")
    arrays = _inputs(op, rng)
    ours = [pygrad.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, t = _pygrad_fn(op)(*ours), _torch_fn(torch, op)(*theirs)
    assert y.dtype.name == str(t.dtype).removeprefix("torch.")
    assert type(y.grad_fn).__name__ == t.grad_fn.name()
    np.testing.assert_allclose(y.detach().numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.uniform(-1, 1, size=y.shape)
    y.backward(pygrad.tensor(g))
    t.backward(torch.tensor(g))
    for a, b in zip(ours, theirs):
        # force: a derivative PyTorch knows is 0 (sgn's) is a ZeroTensor
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(force=True), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("op", [op for op in CASES if op.name not in NO_GRADCHECK],
                         ids=[op.name for op in CASES if op.name not in NO_GRADCHECK])
def test_gradcheck_float64(op, rng):
    inputs = [pygrad.tensor(a, requires_grad=True) for a in _inputs(op, rng)]
    assert gradcheck(_pygrad_fn(op), inputs)
    if op.name not in ("digamma",):  # the second derivative of digamma is not implemented (as in torch's CPU)
        assert gradgradcheck(_pygrad_fn(op), inputs)


UNARY_FLOAT = [op for op in CASES if op.dtype == "float" and len(op.inputs) == 1 and op.function]


@pytest.mark.parametrize("op", UNARY_FLOAT, ids=[op.name for op in UNARY_FLOAT])
def test_integer_input_dtype_matches_torch(op):
    torch = pytest.importorskip("torch")
    y = _pygrad_fn(op)(pygrad.tensor([1, 2]))
    t = _torch_fn(torch, op)(torch.tensor([1, 2]))
    assert y.dtype.name == str(t.dtype).removeprefix("torch.")


FUSED = [(op, name) for op in optable.OPS for name in op.fused]
# Values of the non-tensor arguments a fused kernel reads, each checked.
FUSED_ATTRS = {"pow_scalar": [{"exponent": p} for p in (2, 2.5, 3, 0.5, -1, 1, 0)], "_log_softmax": [{"dim": 0}]}


@pytest.mark.parametrize("op,arg", FUSED, ids=[f"{op.name}-{a}" for op, a in FUSED])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_kernel_computes_the_derivative_expression(op, arg, dtype, rng):
    """A fused kernel is only a faster evaluation of the derivative written in the table."""
    params = ("grad",) + saved_names(op) + tuple(a.name for a in op.attrs)
    values = {"grad": rng.uniform(-1, 1, 7).astype(dtype)}
    arrays = _inputs(op, rng)
    for a, x in zip(op.inputs, arrays):
        values[a.name] = np.resize(x, 7).astype(dtype)
    values.update({a.name: 1.5 for a in op.attrs})  # a number operand (pow's exponent or base)
    values.update(FUSED_ATTRS.get(op.name, [{}])[0])
    if "result" in params:
        result = op.fn.apply(*[pygrad.tensor(values[a.name]) for a in op.inputs], *(values[a.name] for a in op.attrs))
        values["result"] = result.numpy()
    fused = _compile(op.fused[arg], params, ARRAY_NS, "fused")
    expression = _compile(op.derivatives[arg], params, ARRAY_NS, "expression")
    for attrs in FUSED_ATTRS.get(op.name, [{}]):
        args = [attrs[p] if p in attrs else values[p] for p in params]
        np.testing.assert_allclose(fused(*args), expression(*args), rtol=1e-6 if dtype == np.float32 else 1e-14)


def test_every_table_node_has_a_rule_and_saved_names():
    for op in optable.OPS:
        if op.node is not None:
            assert op.rule, op.name
            assert all(n in {a.name for a in op.inputs} | {"result"} for n in saved_names(op))


# -- the generated signatures -------------------------------------------------------------------

def test_out_writes_into_the_given_tensor(torch):
    out = pygrad.empty(3)
    r = pygrad.add(pygrad.tensor([1.0, 2.0, 3.0]), 1, out=out)
    assert r is out and out.tolist() == [2.0, 3.0, 4.0]
    t_out = torch.empty(3)
    torch.add(torch.tensor([1.0, 2.0, 3.0]), 1, out=t_out)
    assert out.tolist() == t_out.tolist()


def test_out_resizes_with_torchs_warning(torch):
    out = pygrad.zeros(5)
    with pytest.warns(UserWarning, match="An output with one or more elements was resized"):
        pygrad.sin(pygrad.tensor([0.5, 1.0]), out=out)
    assert out.shape == (2,)
    empty = pygrad.empty(0)
    pygrad.sin(pygrad.tensor([0.5, 1.0]), out=empty)  # no warning for an empty out
    assert empty.shape == (2,)


def test_out_errors_match_torch(torch):
    def both(m, fn):
        try:
            fn(m)
        except Exception as e:
            return type(e).__name__, str(e)
        return None

    cases = [lambda m: m.sin(m.ones(2), out=m.ones(2, dtype=m.int64)),
             lambda m: m.add(m.ones(2, requires_grad=True), 1, out=m.ones(2)),
             lambda m: m.mul(m.ones(2), m.ones(2), out=m.ones(2, requires_grad=True))]
    for case in cases:
        assert both(pygrad, case) == both(torch, case)


def test_bad_calls_name_the_arguments_as_torch(torch):
    def error(m, fn):
        with pytest.raises(TypeError) as info:
            fn(m)
        return str(info.value)

    for fn in (lambda m: m.sin(2.0), lambda m: m.hypot(m.ones(1), 2.0), lambda m: m.sin(m.ones(1), foo=1),
               lambda m: m.maximum(1, m.ones(1))):
        assert error(pygrad, fn) == error(torch, fn)


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def test_the_table_records_the_kernels_it_uses():
    from pygrad._backend import kernels
    used = optable.kernels_used()
    assert used["sin"] == ("sin", "sin_backward") and used["mul"] == ("mul", "mul_backward", "mul_backward")
    for op, names in used.items():
        for name in names:
            assert callable(getattr(kernels, name)), (op, name)


def test_type_declarations_of_the_table_functions_are_current():
    from pathlib import Path

    from pygrad.ops.optable import type_stub
    stub = Path(pygrad.__file__).with_name("_table_api.pyi").read_text()
    assert stub == type_stub(), "regenerate pygrad/_table_api.pyi as optable.type_stub's docstring says"
