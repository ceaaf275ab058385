"""The keyword calls of PyTorch code as a new user writes them: PyTorch's argument names, out=
and the NumPy-style aliases axis=/keepdims=, each compared with torch."""
import warnings

import numpy as np
import pytest

import pygrad

CALLS = [
    "m.sum(input=x, dim=0, keepdim=True)", "m.mean(input=x, dim=1)", "x.sum(axis=0, keepdims=True)",
    "x.mean(axis=1, keepdims=True)", "m.mm(input=a, mat2=b)", "m.matmul(input=a, other=b)",
    "m.matmul(a, b, out=m.empty(2, 2))", "m.zeros(size=(2, 3))", "m.ones(size=(2, 3), dtype=m.float64)",
    "m.rand(2, 3, out=m.empty(2, 3)).shape", "m.randn(size=(2, 3)).shape", "F.linear(input=x, weight=w, bias=bias)",
    "m.softmax(input=x, dim=1)", "F.softmax(input=x, dim=-1)", "F.log_softmax(input=x, dim=1)",
    "m.add(a, a, out=m.empty(2, 3))", "m.add(input=x, other=x, alpha=2)", "m.mul(input=x, other=x)",
    "m.exp(input=x)", "m.max(input=x, dim=1, keepdim=True)", "m.argmax(input=x, dim=1)",
    "m.cat(tensors=[x, x], dim=0)", "m.stack(tensors=[x, x], dim=1)", "m.reshape(input=x, shape=(3, 2))",
    "m.transpose(input=x, dim0=0, dim1=1)", "m.clamp(input=x, min=0.0, max=0.5)",
    "m.where(condition=x > 0.5, input=x, other=m.zeros(2, 3))", "F.relu(input=x)",
    "F.cross_entropy(input=x, target=m.tensor([0, 2]))", "F.mse_loss(input=x, target=x * 2, reduction='sum')",
    "m.unsqueeze(input=x, dim=0)", "m.std(input=x, dim=0, keepdim=True)",
    "x.amax(axis=1, keepdims=True)", "m.logsumexp(input=x, dim=1)", "m.cumsum(input=x, dim=1)",
    "x.cumsum(axis=0)", "m.cumsum(x, axis=1)",
]


def _run(m, call):
    F = m.nn.functional
    x = m.tensor(np.arange(6.0).reshape(2, 3) / 6, dtype=m.float32)
    a = m.tensor(np.arange(6.0).reshape(2, 3), dtype=m.float32)
    b = m.tensor(np.arange(6.0).reshape(3, 2), dtype=m.float32)
    w, bias = m.ones(4, 3), m.ones(4)
    env = {"m": m, "F": F, "x": x, "a": a, "b": b, "w": w, "bias": bias}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return repr(eval(call, env))


@pytest.mark.parametrize("call", CALLS)
def test_keyword_call_matches_torch(call):
    torch = pytest.importorskip("torch")
    assert _run(pygrad, call) == _run(torch, call)


def test_out_of_a_matmul_and_a_random_fill_is_the_given_tensor():
    out = pygrad.empty(2, 2)
    assert pygrad.matmul(pygrad.ones(2, 3), pygrad.ones(3, 2), out=out) is out
    assert out.tolist() == [[3.0, 3.0], [3.0, 3.0]]
    r = pygrad.empty(3)
    assert pygrad.rand(3, out=r) is r and ((r >= 0) & (r < 1)).all()
