"""Forward mode against reverse mode for every op of the test tables: the tangent an op computes
(its jvp, generated from the op table or written beside a hand-written backward) equals the
Jacobian-vector product taken from the reverse-mode Jacobian, and PyTorch's tangent."""
import numpy as np
import pytest

import pygrad
import pygrad.autograd.forward_ad as fwAD
from pygrad.autograd import op_observers
from pygrad.autograd.functional import jacobian
from pygrad.ops import optable

from test_forward_ad import _nn_cases, conv_hvp
from test_ops_gradients import CASES
from test_optable import CASES as TABLE_OPS, NO_GRADCHECK, _inputs, _pygrad_fn, _torch_fn
from op_table_nn import NO_FORWARD_AD
from test_nn_layers_more import PADS, pad_hvp

# PyTorch has no forward-mode rule for these (the in-place rrelu_)
FORWARD_CASES = [c for c in CASES if c.name not in NO_FORWARD_AD]
FORWARD_TABLE_OPS = [op for op in TABLE_OPS if op.name not in NO_FORWARD_AD]


def _tangents(case, rng, dtype=np.float64):
    return [rng.standard_normal(shape).astype(dtype) for shape in case.shapes]


def _forward_tangent(case, arrays, tangents):
    with fwAD.dual_level():
        duals = [fwAD.make_dual(pygrad.tensor(a), pygrad.tensor(t)) for a, t in zip(arrays, tangents)]
        out = case.fn(pygrad, *duals)
        primal, tangent = fwAD.unpack_dual(out)
        return primal.numpy(), None if tangent is None else tangent.numpy()


def _reverse_jvp(case, arrays, tangents):
    """J·v from the reverse-mode Jacobian (one backward pass per output element)."""
    inputs = tuple(pygrad.tensor(a) for a in arrays)
    blocks = jacobian(lambda *xs: case.fn(pygrad, *xs), inputs)
    out_shape = case.fn(pygrad, *inputs).shape
    total = np.zeros(out_shape)
    for block, t in zip(blocks, tangents):
        j = block.numpy().reshape(int(np.prod(out_shape)), -1)
        total += (j @ t.reshape(-1)).reshape(out_shape)
    return total


@pytest.mark.parametrize("case", FORWARD_CASES, ids=[c.name for c in FORWARD_CASES])
def test_tangent_equals_reverse_mode_jvp(case, rng, backend):
    arrays, tangents = case.inputs(rng), _tangents(case, rng)
    primal, tangent = _forward_tangent(case, arrays, tangents)
    np.testing.assert_allclose(primal, case.fn(pygrad, *map(pygrad.tensor, arrays)).numpy(), rtol=1e-12)
    assert tangent is not None and tangent.shape == primal.shape and tangent.dtype == primal.dtype
    np.testing.assert_allclose(tangent, _reverse_jvp(case, arrays, tangents), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", FORWARD_CASES, ids=[c.name for c in FORWARD_CASES])
def test_tangent_matches_torch(case, dtype, rng, torch):
    import torch.autograd.forward_ad as torch_fwAD
    arrays, tangents = case.inputs(rng, np.dtype(dtype)), _tangents(case, rng, np.dtype(dtype))
    primal, tangent = _forward_tangent(case, arrays, tangents)
    with torch_fwAD.dual_level():
        duals = [torch_fwAD.make_dual(torch.tensor(a), torch.tensor(t)) for a, t in zip(arrays, tangents)]
        ref = torch_fwAD.unpack_dual(case.fn(torch, *duals))
    tol = dict(rtol=2e-4, atol=2e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(primal, ref.primal.numpy(), **tol)
    assert tangent.dtype == ref.tangent.numpy().dtype
    np.testing.assert_allclose(tangent, ref.tangent.numpy(), **tol)


@pytest.mark.parametrize("op", FORWARD_TABLE_OPS, ids=[op.name for op in FORWARD_TABLE_OPS])
def test_every_table_op_tangent_equals_reverse_mode_jvp_and_torch(op, rng, backend, torch):
    import torch.autograd.forward_ad as torch_fwAD
    arrays = _inputs(op, rng)
    tangents = [rng.standard_normal(a.shape) for a in arrays]
    with fwAD.dual_level():
        ours = fwAD.unpack_dual(_pygrad_fn(op)(*[fwAD.make_dual(pygrad.tensor(a), pygrad.tensor(t))
                                                 for a, t in zip(arrays, tangents)]))
    with torch_fwAD.dual_level():
        ref = torch_fwAD.unpack_dual(_torch_fn(torch, op)(*[torch_fwAD.make_dual(torch.tensor(a), torch.tensor(t))
                                                            for a, t in zip(arrays, tangents)]))
    np.testing.assert_allclose(ours.tangent.numpy(), ref.tangent.numpy(), rtol=1e-9, atol=1e-12)
    if op.name not in NO_GRADCHECK:  # where the op is smooth, reverse mode gives the same product
        case = type("Case", (), {"fn": staticmethod(lambda m, *xs: _pygrad_fn(op)(*xs))})
        np.testing.assert_allclose(ours.tangent.numpy(), _reverse_jvp(case, arrays, tangents), rtol=1e-9,
                                   atol=1e-10)


def test_every_differentiable_table_entry_is_run_in_forward_mode(rng):
    """The table cases, the shared cases and the number-operand cases below reach every
    differentiable entry of the op table (softmax's and the number operands' entries included)."""
    seen = set()

    def record(cls, args, kwargs, call):
        seen.add(getattr(cls, "_inplace_of", cls))  # an in-place variant runs its op's forward
        return call()
    op_observers.add(record)
    try:
        with fwAD.dual_level():
            for case in CASES:
                case.fn(pygrad, *map(pygrad.tensor, case.inputs(rng)))
            for op in TABLE_OPS:
                _pygrad_fn(op)(*map(pygrad.tensor, _inputs(op, rng)))
            for fn in NUMBER_OPERANDS:
                fn(pygrad, pygrad.tensor(rng.uniform(0.3, 2.0, 5)))
            for _, fn, x_shape, w_shape in NN_CASES:
                fn(pygrad, pygrad.nn.functional, pygrad.tensor(rng.uniform(-1, 1, x_shape)),
                   pygrad.tensor(rng.uniform(0.2, 1, w_shape)))
        conv_hvp(pygrad, fwAD, *(rng.standard_normal(s) for s in ((1, 2, 4, 4), (3, 2, 3, 3)) * 2))
        for shape, pad, mode in PADS:  # the padding entries and their gradients' entries
            pad_hvp(pygrad, fwAD, rng.standard_normal(shape), rng.standard_normal(shape), pad, mode)
    finally:
        op_observers.remove(record)
    missing = [op.name for op in optable.OPS if op.fn is not None and op.node is not None and op.fn not in seen]
    assert not missing, missing


NN_CASES = _nn_cases()
NUMBER_OPERANDS = [
    lambda m, a: m.round(a, decimals=1),
    lambda m, a: m.xlogy(2.0, a),
    lambda m, a: m.xlogy(a, 3.0),
    lambda m, a: m.copysign(a, -1.0),
    lambda m, a: m.fmod(a, 0.7),
    lambda m, a: m.remainder(a, 0.7),
]


@pytest.mark.parametrize("fn", NUMBER_OPERANDS, ids=["round_decimals", "xlogy_of_number", "xlogy_number", "copysign_number", "fmod_number",
        "remainder_number"])
def test_number_operand_entries(fn, rng, torch):
    import torch.autograd.forward_ad as torch_fwAD
    a, t = rng.uniform(0.3, 2.0, 5), rng.standard_normal(5)
    with fwAD.dual_level():
        ours = fwAD.unpack_dual(fn(pygrad, fwAD.make_dual(pygrad.tensor(a), pygrad.tensor(t))))
    with torch_fwAD.dual_level():
        ref = torch_fwAD.unpack_dual(fn(torch, torch_fwAD.make_dual(torch.tensor(a), torch.tensor(t))))
    np.testing.assert_allclose(ours.primal.numpy(), ref.primal.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.tangent.numpy(), ref.tangent.numpy(), rtol=1e-12, atol=1e-14)
