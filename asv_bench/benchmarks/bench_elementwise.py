"""Elementwise ops: the kernels alone (forward and fused backward) and the ops through autograd."""
import numpy as np

import pygrad
from pygrad._backend import kernels

from .common import BACKENDS, array, grid, leaf, use_backend

SIZES = grid([1, 1_000, 1_000_000], [1, 1_000])

# op: (tensor expression, forward kernel and its arguments, fused backward kernel and its arguments)
# Arguments name the arrays of Kernels.setup: x, y (operands), p (exponent), g (output gradient),
# r (forward result).  Inputs lie in [0.5, 2] so that log, div and pow are smooth everywhere.
OPS = {
    "add": (lambda x, y: x + y, ("add", "xy"), None),
    "mul": (lambda x, y: x * y, ("mul", "xy"), ("mul_backward", "gy")),
    "div": (lambda x, y: x / y, ("div", "xy"), ("div_backward_b", "gxy")),
    "pow": (lambda x, y: x ** 2, ("pow", "xp"), ("pow_backward", "gxp")),
    "exp": (lambda x, y: x.exp(), ("exp", "x"), ("exp_backward", "gr")),
    "log": (lambda x, y: x.log(), ("log", "x"), ("log_backward", "gx")),
    "tanh": (lambda x, y: x.tanh(), ("tanh", "x"), ("tanh_backward", "gr")),
    "sigmoid": (lambda x, y: x.sigmoid(), ("sigmoid", "x"), ("sigmoid_backward", "gr")),
    "relu": (lambda x, y: x.relu(), ("relu", "x"), ("relu_backward", "gr")),
}
BINARY = {"add", "mul", "div"}


class KernelForward:
    """The backend's forward kernels called on arrays: what the compiled loops gain, without autograd."""

    params = [BACKENDS, list(OPS), SIZES]
    param_names = ["backend", "op", "size"]

    def setup(self, backend, op, size):
        use_backend(backend)
        name, args = OPS[op][1]
        self.kernel = getattr(kernels, name)
        self.args = [_arrays(size)[a] for a in args]

    def time_forward(self, backend, op, size):
        self.kernel(*self.args)


class KernelBackward:
    """The fused backward kernels: one pass computing an input's gradient from the output's."""

    params = [BACKENDS, [op for op, spec in OPS.items() if spec[2] is not None], SIZES]
    param_names = ["backend", "op", "size"]

    def setup(self, backend, op, size):
        use_backend(backend)
        _, (fwd, fwd_args), (bwd, bwd_args) = OPS[op]
        arrays = _arrays(size)
        arrays["r"] = getattr(kernels, fwd)(*(arrays[a] for a in fwd_args))
        self.kernel = getattr(kernels, bwd)
        self.args = [arrays[a] for a in bwd_args]

    def time_fused_backward(self, backend, op, size):
        self.kernel(*self.args)


def _arrays(size):
    return {"x": array(size, 0.5, 2.0), "y": array(size, 0.5, 2.0, seed=1),
            "g": array(size, seed=2), "p": np.array(2.0, np.float32)}


class Ops:
    """The same ops on tensors that require grad: dispatch, node creation and one backward step."""

    params = [BACKENDS, list(OPS), SIZES]
    param_names = ["backend", "op", "size"]

    def setup(self, backend, op, size):
        use_backend(backend)
        self.fn = OPS[op][0]
        self.x = leaf(size, 0.5, 2.0)
        self.y = leaf(size, 0.5, 2.0, seed=1) if op in BINARY else None
        self.out = self.fn(self.x, self.y)
        self.g = pygrad.tensor(array(size, seed=2))

    def time_forward(self, backend, op, size):
        self.fn(self.x, self.y)

    def time_forward_no_grad(self, backend, op, size):
        with pygrad.no_grad():
            self.fn(self.x, self.y)

    def time_backward(self, backend, op, size):
        self.x.grad = None
        if self.y is not None:
            self.y.grad = None
        self.out.backward(self.g, retain_graph=True)
