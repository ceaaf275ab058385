"""What ``backward()`` and ``autograd.grad`` set around a pass: NumPy's floating-point errors
off (inf/nan come out silently, as in PyTorch) and grad mode on only under create_graph; the
program's own states are back afterwards, also when the pass raises, and in nested passes."""
import warnings

import numpy as np
import pytest

import pygrad


def test_a_pass_is_quiet_under_raise_and_leaves_the_state(backend):
    x = pygrad.tensor([0.0, 4.0], requires_grad=True)
    y = x.sqrt()  # d/dx = 1 / (2 sqrt(x)): inf at 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            y.sum().backward()
            assert np.geterr()["divide"] == "raise"
            (g,) = pygrad.autograd.grad(x.sqrt().sum(), x)
            assert np.geterr() == {"divide": "raise", "over": "raise", "under": "raise", "invalid": "raise"}
    assert x.grad.tolist() == [float("inf"), 0.25] and g.tolist() == [float("inf"), 0.25]
    assert np.geterr()["divide"] == "warn"


def test_grad_mode_and_error_state_come_back_when_a_hook_raises(backend):
    x = pygrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3

    def hook(grad):
        assert not pygrad.is_grad_enabled()
        assert np.geterr()["invalid"] == "ignore"
        raise ValueError("from the hook")
    y.register_hook(hook)
    with pytest.raises(ValueError, match="from the hook"):
        y.sum().backward()
    assert pygrad.is_grad_enabled() and np.geterr()["invalid"] == "warn"
    z = pygrad.tensor([1.0], requires_grad=True)
    seen = []  # create_graph turns grad mode on for the pass only
    w = z * z
    w.register_hook(lambda g: seen.append(pygrad.is_grad_enabled()))
    pygrad.autograd.grad(w.sum(), z, create_graph=True)
    assert seen == [True] and pygrad.is_grad_enabled()


def test_a_nested_pass_in_a_hook(backend):
    a = pygrad.tensor([2.0], requires_grad=True)
    b = pygrad.tensor([3.0], requires_grad=True)
    inner = []

    def hook(grad):
        mode = pygrad.is_grad_enabled()
        with pygrad.enable_grad():
            (g,) = pygrad.autograd.grad((b * b).sum(), b)
        inner.append((g.tolist(), mode, pygrad.is_grad_enabled(), np.geterr()["divide"]))
        return grad
    y = a * 5
    y.register_hook(hook)
    with np.errstate(divide="raise"):
        y.sum().backward()
        assert np.geterr()["divide"] == "raise"
    assert inner == [([6.0], False, False, "ignore")] and a.grad.tolist() == [5.0]
