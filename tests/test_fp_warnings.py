"""PyTorch gives no floating-point warnings: inf, -inf, nan, huge and tiny inputs give inf and nan
where the math does, silently.  Every op of the shared op tables, the op table itself, the layers
and losses run forward and backward on such inputs with warnings as errors, on both backends and
both float dtypes; the values and gradients are compared with PyTorch's where they agree on these
inputs (``DIFFERENT_FROM_TORCH`` lists the cases where they do not, none of them about warnings).
"""
import warnings

import numpy as np
import pytest

import pygrad
from nn_cases import LAYERS, LOSSES
from op_table import CORE_OPS
from op_table_common import COMMON_OPS
from op_table_extras import EXTRA_OPS
from op_table_math import MATH_OPS
from op_table_nn import NN_ACTIVATION_OPS, NN_LOSS_OPS
from op_table_shape import SHAPE_OPS
from test_optable import CASES as TABLE_OPS, _pygrad_fn, _torch_fn

DTYPES = (np.float32, np.float64)
EXTREMES = (3e38, -3e38, 1.7e308, -1.7e308, 1e-45, 5e-324, 0.0, -0.0, -1.0, 1.0, 100.0, -100.0, 0.5, 800.0,
            float("inf"), float("-inf"), float("nan"))


def extreme(shape, k: int, dtype) -> np.ndarray:
    """An array of ``shape`` cycling through ``EXTREMES`` (the k-th input in another order, so a
    binary op meets every pair), cast to ``dtype`` (float64's huge values are float32's inf)."""
    n = int(np.prod(shape))
    values = np.array([EXTREMES[(i * (k + 1) + 3 * k) % len(EXTREMES)] for i in range(n)])
    with np.errstate(over="ignore"):
        return values.astype(dtype).reshape(shape)


def _case_fn(case):
    return lambda m, *tensors: case.fn(m, *tensors)


def _table_fn(op):
    def fn(m, *tensors):
        return (_pygrad_fn(op) if m is pygrad else _torch_fn(m, op))(*tensors)
    return fn


CASES = [(case.name, _case_fn(case), case.shapes)
         for case in CORE_OPS + SHAPE_OPS + MATH_OPS + EXTRA_OPS + COMMON_OPS + NN_ACTIVATION_OPS + NN_LOSS_OPS]
CASES += [("table_" + op.name, _table_fn(op), ((3, 4), (4,), (3, 1))[:len(op.inputs)]) for op in TABLE_OPS]
IDS = [name for name, _, _ in CASES]

# Where PyTorch's values on these inputs differ from pygrad's (the same before pygrad was quiet):
# ties broken otherwise, BLAS's inf/nan in a product of huge values, a pole's sign, a reflection
# formula's rounding.  Values of the named dtype (None: both) are not compared; warnings still are.
DIFFERENT_FROM_TORCH = {
    "table_digamma": None, "table_logit": None, "table_sinc": None, "xlogy": None, "xlogy_number_y": None,
    "addcdiv": np.float32, "baddbmm": None, "cumprod": None, "cumprod_with_zero": np.float32,
    "cumprod_signs": np.float64, "index_add": None, "kthvalue": np.float32, "topk": np.float32,
    "pow_half": np.float32, "prod_dim": np.float32, "prod_dim_keepdim": np.float32, "softshrink_negative": None,
    "addcmul_inplace": np.float64, "addmm_broadcast_scaled": np.float64, "baddbmm_broadcast": np.float64,
    "bmm": np.float64, "celu_alpha": np.float64, "fmod": np.float64, "fmod_number": np.float64,
    "hardtanh_bounds": np.float64, "layer_norm_like": np.float64, "matmul_2d_3d": np.float64,
    "matmul_3d_2d": np.float64, "matmul_batch_broadcast": np.float64, "matmul_batch_one": np.float64,
    "matmul_batched": np.float64, "matmul_noncontiguous_batch": np.float64, "mm": np.float64, "mm_fn": np.float64,
    "std_keepdim": np.float64, "var_correction_keepdim": np.float64, "var_dim_biased": np.float64,
}


def forward_backward(m, fn, arrays):
    """The result's values and the inputs' gradients (None where an input gets none)."""
    inputs = [m.tensor(a, requires_grad=True) for a in arrays]
    y = fn(m, *inputs)
    if isinstance(y, (tuple, list)):
        y = y[0]
    value = y.detach().numpy().copy()
    if y.requires_grad:
        y.sum().backward()
    extra = {"force": True} if m is not pygrad else {}  # a ZeroTensor gradient of PyTorch's
    return value, [None if t.grad is None else t.grad.numpy(**extra).copy() for t in inputs]


def quietly_forward_backward(fn, arrays):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return forward_backward(pygrad, fn, arrays)


@pytest.mark.parametrize("name, fn, shapes", CASES, ids=IDS)
def test_forward_and_backward_give_no_warning(name, fn, shapes, backend):
    for dtype in DTYPES:
        value, grads = quietly_forward_backward(fn, [extreme(s, k, dtype) for k, s in enumerate(shapes)])
        assert value.dtype == dtype


def _assert_close(ours, theirs, what):
    assert ours.shape == theirs.shape, what
    np.testing.assert_allclose(ours.astype(np.float64), theirs.astype(np.float64), rtol=1e-4, atol=1e-6,
                               equal_nan=True, err_msg=what)


@pytest.mark.parametrize("name, fn, shapes", CASES, ids=IDS)
def test_values_and_gradients_match_torch(name, fn, shapes, torch, backend):
    for dtype in DTYPES:
        if name in DIFFERENT_FROM_TORCH and DIFFERENT_FROM_TORCH[name] in (None, dtype):
            continue
        arrays = [extreme(s, k, dtype) for k, s in enumerate(shapes)]
        try:
            expected = forward_backward(torch, fn, arrays)
        except RuntimeError:  # an input PyTorch refuses (its error is tested elsewhere)
            continue
        value, grads = quietly_forward_backward(fn, arrays)
        _assert_close(value, expected[0], f"{name} {dtype.__name__}")
        for i, (g, ref) in enumerate(zip(grads, expected[1])):
            assert (g is None) == (ref is None)
            if g is not None:
                _assert_close(g, ref, f"{name} {dtype.__name__} gradient {i}")


@pytest.mark.parametrize("case", LAYERS, ids=[case.name for case in LAYERS])
def test_layers_give_no_warning(case, backend):
    for dtype in DTYPES:
        module = case.build(pygrad.nn).to(getattr(pygrad, dtype.__name__))
        rng = np.random.default_rng(0)
        x = case.input(rng, dtype) if case.int_input is not None else extreme(case.shape, 0, dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = module(pygrad.tensor(x, requires_grad=case.int_input is None))
            (out[0] if isinstance(out, tuple) else out).sum().backward()


PROBABILITY_LOSSES = {"bce", "bce_weight"}  # their input must be in [0, 1]: an error, as in PyTorch


@pytest.mark.parametrize("case", LOSSES, ids=[case.name for case in LOSSES])
def test_losses_give_no_warning(case, backend):
    for dtype in DTYPES:
        for reduction in ("mean", "sum", "none"):
            rng = np.random.default_rng(0)
            target = case.target(rng, case.shape)
            extra = {k: pygrad.tensor(rng.uniform(0.5, 1.5, s).astype(dtype)) for k, s in case.extra.items()}
            inputs = [(extreme(case.shape, 0, dtype), target.astype(dtype) if target.dtype.kind == "f" else target)]
            if target.dtype.kind == "f":
                inputs.append((rng.uniform(-2, 2, case.shape).astype(dtype), extreme(case.shape, 1, dtype)))
            if case.name in PROBABILITY_LOSSES:
                inputs = [(np.clip(np.nan_to_num(x), 0, 1), t) for x, t in inputs]
            for x, t in inputs:
                x = pygrad.tensor(x, requires_grad=True)
                t = pygrad.tensor(t, requires_grad=t.dtype.kind == "f")
                with warnings.catch_warnings():
                    warnings.simplefilter("error")
                    case.fn(pygrad.nn.functional, x, t, extra, reduction).sum().backward()


# What is not an op of the tables: casts, creation, arithmetic with a Python number, layers' helpers.
EXPRESSIONS = [
    "x.to(m.float32)", "x.float()", "x.half()", "x.double().float()", "x.detach().clone().copy_(x64)",
    "m.tensor([1e300, -1e300, 1e-300], dtype=m.float32)", "m.tensor(1e300, dtype=m.float16)",
    "m.full((2,), 1e300, dtype=m.float32)", "m.as_tensor(np.array([1e300]), dtype=m.float32)",
    "m.arange(0, 1e300, 1e299)", "m.linspace(-1e308, 1e308, 5)", "m.logspace(0, 400, 5)",
    "x * 1e300", "1e300 * x", "x + 1e308", "x / 1e-300", "x.half() * 70000", "x ** 1e300",
    "m.cdist(x, y)", "m.einsum('ij,kj->ik', x, y)", "m.cross(x[:, :3], y[:, :3], dim=1)",
    "m.linalg.matrix_exp(x[:, :3])", "m.linalg.det(x[:, :3])", "m.linalg.inv(x[:, :3])",
    "F.cosine_similarity(x, y)", "F.batch_norm(x, None, None, training=True)", "F.instance_norm(img)",
    "F.fold(F.unfold(img, 2), (4, 4), 2)", "F.avg_pool2d(img, 2)", "F.adaptive_avg_pool2d(img, 3)",
    "F.bilinear(x, y, m.ones(2, 4, 4, dtype=x.dtype))", "F.conv2d(img, m.ones(3, 2, 2, 2, dtype=img.dtype))",
    "F.cross_entropy(x, m.tensor([0, 1, 2]))", "F.kl_div(x, y, reduction='batchmean')", "F.normalize(x)",
    "x.index_add(0, m.tensor([0, 0, 1]), y)", "x.scatter_add(0, m.tensor([[0, 1, 2, 0]]), y[:1])",
    "m.nn.init.normal_(m.empty(3, 4), std=1e300)", "str(x * 1e30)", "x.detach().mul_(1e30).add_(x.detach())",
]


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_other_computations_give_no_warning(expr, backend):
    for dtype in DTYPES:
        m, F = pygrad, pygrad.nn.functional
        x = m.tensor(extreme((3, 4), 0, dtype), requires_grad=True)
        y = m.tensor(extreme((3, 4), 1, dtype), requires_grad=True)
        x64 = m.tensor(extreme((3, 4), 2, np.float64))
        img = m.tensor(extreme((1, 2, 4, 4), 3, dtype), requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = eval(expr)
            if isinstance(out, pygrad.Tensor) and out.requires_grad:
                out.sum().backward()


POLES = [0.0, -0.0, -1.0, -2.0, -2.5, 0.5, 1.0, 1e-45, 1e30, 3e38, -3e38, 1.7e308, -1.7e308,
         float("inf"), float("-inf"), float("nan"), -1e-300, 5e-324]


@pytest.mark.parametrize("name", ["lgamma", "digamma"])
def test_lgamma_and_digamma_at_poles_and_infinities_match_torch(name, torch, backend):
    for dtype in ("float32", "float64"):
        x = pygrad.tensor(POLES, dtype=getattr(pygrad, dtype), requires_grad=True)
        t = torch.tensor(POLES, dtype=getattr(torch, dtype), requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y = getattr(pygrad, name)(x)
            y.sum().backward()
        ref = getattr(torch, name)(t)
        ref.sum().backward()
        np.testing.assert_allclose(y.detach().numpy(), ref.detach().numpy(), rtol=1e-5, equal_nan=True)
        if name == "lgamma":  # (digamma's derivative, trigamma, is inf at its poles: PyTorch's is a rounding)
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-4, equal_nan=True)


def test_the_programs_own_error_state_is_kept(backend):
    """pygrad computes quietly also when the program asks NumPy to raise, and leaves that state
    as it was: NumPy's own calls still raise."""
    x = pygrad.tensor([1000.0, 0.0, -1.0, float("inf")], requires_grad=True)
    with np.errstate(all="raise"):
        y = (x.exp() + x.log() + x.sin() + x * 1e38 + x.sum()).sum()
        y.backward()
        assert np.geterr() == {"divide": "raise", "over": "raise", "under": "raise", "invalid": "raise"}
        with pytest.raises(FloatingPointError):
            np.exp(np.float32(1000))
    assert np.isnan(y.item()) and np.isnan(x.grad.numpy()).any()
    with np.errstate(over="warn"), pytest.warns(RuntimeWarning, match="overflow"):
        np.exp(np.float32(1000))


OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam"]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_steps_on_inf_and_nan_gradients_give_no_warning_and_match_torch(name, torch, backend):
    values = [3e38, -3e38, 0.0, 1.0, float("inf"), float("-inf"), float("nan"), 1e-45]
    for dtype in ("float32", "float64"):
        results = []
        for m in (pygrad, torch):
            p = m.nn.Parameter(m.tensor(values, dtype=getattr(m, dtype)))
            opt = getattr(m.optim, name)([p], lr=0.1, **({"momentum": 0.9} if name == "SGD" else {}))
            with warnings.catch_warnings():
                warnings.simplefilter("error" if m is pygrad else "ignore")
                for _ in range(2):
                    p.grad = m.tensor(values, dtype=getattr(m, dtype))
                    opt.step()
            results.append(p.detach().numpy().copy())
        np.testing.assert_allclose(results[0], results[1], rtol=1e-5, atol=1e-30, equal_nan=True)


def test_a_step_runs_the_programs_closure_in_the_programs_error_state(backend):
    p = pygrad.nn.Parameter(pygrad.tensor([1.0, float("inf")]))
    opt = pygrad.optim.SGD([p], lr=0.1)
    seen = []

    def closure():
        seen.append(np.geterr()["over"])
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss
    with np.errstate(over="raise"):
        opt.step(closure)
    assert seen == ["raise"] and np.isnan(p.detach().numpy()[1])
