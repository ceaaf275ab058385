"""nn.init: PyTorch's gains and bounds, filling in place (also on leaves that require grad)."""
import math

import numpy as np
import pytest

import pygrad
from pygrad.nn import init


@pytest.mark.parametrize("name,param", [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                                        ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                                        ("leaky_relu", math.sqrt(5)), ("selu", None)])
def test_calculate_gain_matches_torch(name, param, torch):
    assert init.calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)


def _filled(fn, shape=(200, 300), **kwargs):
    pygrad.manual_seed(0)
    w = pygrad.nn.Parameter(pygrad.empty(*shape))
    version = w._version_value
    out = fn(w, **kwargs)
    assert out is w and w._version_value > version and w.requires_grad and w.grad_fn is None
    return w.detach().numpy()


def test_uniform_family_bounds():
    a = _filled(init.uniform_, a=-0.5, b=2.0)
    assert a.min() >= -0.5 and a.max() < 2.0 and abs(a.mean() - 0.75) < 0.02
    bound = math.sqrt(6 / (200 + 300))
    x = _filled(init.xavier_uniform_)
    assert np.abs(x).max() <= bound and np.abs(x).max() > 0.99 * bound
    k = _filled(init.kaiming_uniform_, a=math.sqrt(5))
    kb = math.sqrt(3) * math.sqrt(2 / 6) / math.sqrt(300)  # = 1/sqrt(fan_in)
    assert np.abs(k).max() <= kb and abs(kb - 1 / math.sqrt(300)) < 1e-12
    kr = _filled(init.kaiming_uniform_, mode="fan_out", nonlinearity="relu")
    assert np.abs(kr).max() <= math.sqrt(6 / 200)


def test_normal_family_std():
    n = _filled(init.normal_, mean=1.0, std=0.5)
    assert abs(n.mean() - 1.0) < 0.01 and abs(n.std() - 0.5) < 0.01
    x = _filled(init.xavier_normal_, gain=2.0)
    assert abs(x.std() - 2.0 * math.sqrt(2 / 500)) < 0.002
    k = _filled(init.kaiming_normal_, nonlinearity="relu")
    assert abs(k.std() - math.sqrt(2 / 300)) < 0.002


def test_constants_and_conv_fans():
    assert (_filled(init.zeros_) == 0).all() and (_filled(init.ones_) == 1).all()
    assert (_filled(init.constant_, val=0.25) == 0.25).all()
    w = pygrad.empty(8, 4, 3, 3)
    assert init._calculate_fan_in_and_fan_out(w) == (36, 72)
    with pytest.raises(ValueError, match="Fan in and fan out can not be computed"):
        init.xavier_uniform_(pygrad.empty(3))
    with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
        init.calculate_gain("foo")
