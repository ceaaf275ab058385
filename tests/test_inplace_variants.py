"""The op table's in-place variants (``x.sin_()``, ``torch.sin_(x)``) and the order in which
saved-tensor hooks see what a table op saves, both against PyTorch."""
import numpy as np
import pytest

import pygrad
from pygrad.ops import optable

from test_optable import CASES, DOMAINS, _inputs, _pygrad_fn, _torch_fn

torch = pytest.importorskip("torch")

TABLE = optable.OPS + optable._declared()
NAMES = sorted({n for op in TABLE if op.function for n in (op.name,) + op.aliases})
INPLACE = sorted({(n, len(op.inputs)) for op in TABLE if op.inplace and len(op.inputs) <= 2
                  for n in (op.name,) + op.aliases})  # (addcmul_, addcdiv_: tests/op_table_extras.py)


def test_top_level_inplace_functions_are_torchs():
    """``pygrad.<name>_`` exists exactly where ``torch.<name>_`` does, for the table's functions."""
    ours = {n for n in NAMES if hasattr(pygrad, n + "_")}
    theirs = {n for n in NAMES if hasattr(torch, n + "_")}
    assert ours == theirs
    assert all(n + "_" in pygrad.__all__ for n in ours)


def test_inplace_methods_exist_where_torch_has_them():
    missing = [n + "_" for n in NAMES if hasattr(torch.Tensor, n + "_") and not hasattr(pygrad.Tensor, n + "_")]
    assert not missing


def _values(name, dtype):
    if dtype == "bool":
        return np.array([True, False, True])
    if dtype == "int64":
        return np.array([3, -2, 1], dtype=np.int64)
    low, high = DOMAINS.get(name, (-2.0, 2.0))
    return np.linspace(low + 0.05, high - 0.05, 3).astype(dtype)


def _run(m, name, arity, dtype, how):
    x = m.tensor(_values(name, dtype))
    args = [m.tensor(_values(name, dtype)[::-1].copy())] if arity == 2 else []
    try:
        r = getattr(m, name + "_")(x, *args) if how == "function" else getattr(x, name + "_")(*args)
    except Exception as e:  # noqa: BLE001 - the error is part of what is compared
        return type(e).__name__, str(e)
    return r is x, str(x.dtype), x.tolist()


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("name,arity", INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_values_dtypes_and_errors_match_torch(name, arity, dtype):
    hows = ["method"] + (["function"] if hasattr(torch, name + "_") else [])
    for how in hows:
        ours, theirs = _run(pygrad, name, arity, dtype, how), _run(torch, name, arity, dtype, how)
        if len(theirs) == 3 and len(ours) == 3:
            assert ours[:2] == theirs[:2], how
            np.testing.assert_allclose(np.array(ours[2], dtype=float), np.array(theirs[2], dtype=float),
                                       rtol=1e-6, atol=1e-7, err_msg=how)
        else:
            assert ours == theirs, how


# PyTorch 2.13 has no derivative for these in-place variants and raises; pygrad's is the
# out-of-place op's (a documented difference).
DIFFERENTIATED_WHERE_TORCH_REFUSES = {"asinh", "acosh", "atanh", "arcsinh", "arccosh", "arctanh"}


@pytest.mark.parametrize("name,arity", INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_gradients_match_torch(name, arity):
    """On a non-leaf that requires grad: PyTorch's grad_fn name and the same gradients."""
    x0 = _values(name, "float64")
    results = []
    for m in (pygrad, torch):
        leaf = m.tensor(x0, requires_grad=True)
        other = m.tensor(x0[::-1].copy(), requires_grad=True)
        try:
            y = getattr(leaf * 1, name + "_")(*([other] if arity == 2 else []))
            node = type(y.grad_fn).__name__ if m is pygrad else y.grad_fn.name()
            y.backward(m.tensor([0.5, -1.0, 2.0], dtype=m.float64))
        except Exception as e:  # noqa: BLE001 - the error is part of what is compared
            results.append((type(e).__name__, str(e)))
            continue
        # force: a gradient PyTorch knows is 0 (sgn's) is a ZeroTensor, with no storage to list
        results.append((node, leaf.grad.numpy(force=True).tolist(),
                        None if arity == 1 else other.grad.numpy(force=True).tolist()))
    if name in DIFFERENTIATED_WHERE_TORCH_REFUSES:
        assert results[1][0] == "NotImplementedError" and results[0][0] == f"{name.title()}Backward0".replace(
            "Arc", "A")
        return
    assert results[0][0] == results[1][0], results
    if len(results[1]) == 2:  # the same error (pygrad names the op, PyTorch its in-place aten variant)
        assert results[0][1] == results[1][1].replace(f"aten::{name}_ ", f"aten::{name} ")
        return
    for a, b in zip(results[0][1:], results[1][1:]):
        if b is not None:
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)


def test_inplace_on_a_leaf_that_requires_grad_is_refused_as_in_torch():
    def error(m):
        with pytest.raises(RuntimeError) as info:
            m.sin_(m.ones(2, requires_grad=True))
        return str(info.value)
    assert error(pygrad) == error(torch)


def test_top_level_inplace_arguments_are_checked_as_in_torch():
    for call in (lambda m: m.sin_(1.0), lambda m: m.sin_(m.ones(2), out=m.ones(2)),
                 lambda m: m.clamp_(input=m.tensor([1.0, 3.0]), max=2)):
        outcomes = []
        for m in (pygrad, torch):
            try:
                outcomes.append(call(m).tolist())
            except TypeError as e:
                outcomes.append(str(e))
        assert outcomes[0] == outcomes[1]


# -- saved-tensor hooks --------------------------------------------------------------------------

def _pack_order(m, fn, arrays):
    """What the pack hook is given while ``fn`` runs: which input (by position), or the output."""
    tensors = [m.tensor(a, requires_grad=True) for a in arrays]
    seen = []
    with m.autograd.graph.saved_tensors_hooks(lambda t: seen.append(t) or t, lambda t: t):
        y = fn(*tensors)
    names = []
    for s in seen:
        found = [f"input {i}" for i, t in enumerate(tensors) if s is t]
        names.append(found[0] if found else "output" if s is y else f"another tensor {tuple(s.shape)}")
    return names


# PyTorch's log_sigmoid also saves a buffer of its forward kernel (exp(-|x|)), which pygrad's
# derivative does not need: only its input is packed.
SAVES_A_KERNEL_BUFFER = {"logsigmoid"}
PACKING = [op for op in CASES if op.name not in SAVES_A_KERNEL_BUFFER]


@pytest.mark.parametrize("op", PACKING, ids=[op.name for op in PACKING])
def test_saved_tensors_are_packed_in_torchs_order(op, rng):
    """PyTorch's generated nodes save their inputs sorted by name (``mul`` packs ``other`` first),
    then the output itself."""
    arrays = _inputs(op, rng)
    assert _pack_order(pygrad, _pygrad_fn(op), arrays) == _pack_order(torch, _torch_fn(torch, op), arrays)


def test_pack_hook_sees_the_output_with_its_grad_fn():
    for m in (pygrad, torch):
        seen = []
        x = m.tensor([0.5, 1.0], requires_grad=True)
        with m.autograd.graph.saved_tensors_hooks(lambda t: seen.append(str(t)) or t, lambda t: t):
            y = x.exp()
        y.sum().backward()
        assert seen == ["tensor([1.6487, 2.7183], grad_fn=<ExpBackward0>)"]
        assert x.grad.tolist() == pytest.approx([1.6487212707001282, 2.718281828459045])


@pytest.mark.parametrize("name", ["floor", "ceil", "trunc", "round", "abs", "relu"])
def test_bool_input_is_refused_as_in_torch(name):
    outcomes = []
    for m in (pygrad, torch):
        with pytest.raises((NotImplementedError, RuntimeError)) as info:
            getattr(m, name)(m.tensor([True, False]))
        outcomes.append((info.type, str(info.value)))
    assert outcomes[0] == outcomes[1]
    assert pygrad.floor(pygrad.tensor([3, -2])).tolist() == [3, -2]  # integers are kept


HAND_WRITTEN = {
    "mm": lambda m, a, b: a.mm(b), "matmul": lambda m, a, b: a @ b, "bmm": lambda m, a, b: a[None].bmm(b[None]),
    "pow_tensor": lambda m, a, b: a ** b, "rpow": lambda m, a, b: 2 ** a + b, "lerp": lambda m, a, b: m.lerp(a, b, b - a),
}


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_hand_written_ops_pack_in_torchs_order(name):
    arrays = [np.linspace(0.5, 2.0, 9).reshape(3, 3), np.linspace(2.0, 0.7, 9).reshape(3, 3)]
    fn = HAND_WRITTEN[name]
    assert (_pack_order(pygrad, lambda *t: fn(pygrad, *t), arrays)
            == _pack_order(torch, lambda *t: fn(torch, *t), arrays))
