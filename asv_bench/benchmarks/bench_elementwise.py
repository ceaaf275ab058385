"""Elementwise ops: the kernels alone (forward and fused backward, for every dtype and operand
layout of ``python -m pygrad.bench.kernels``) and the ops through autograd."""
import inspect

import numpy as np

import pygrad
from pygrad._backend import kernels
from pygrad._pure import kernels as pure_kernels
from pygrad.bench.kernels import LAYOUTS, cases, operands

from .common import BACKENDS, array, grid, leaf, use_backend

SIZES = grid([1, 1_000, 1_000_000], [1, 1_000])
KERNEL_SIZES = grid([1, 100, 100_000, 1_000_000], [1, 100])
DTYPES = ["float32", "float64"]

# op: (tensor expression, forward kernel, fused backward kernel)
OPS = {
    "add": (lambda x, y: x + y, "add", None),
    "mul": (lambda x, y: x * y, "mul", "mul_backward"),
    "div": (lambda x, y: x / y, "div", "div_backward_b"),
    "pow": (lambda x, y: x ** 2, "pow", "pow_backward"),
    "exp": (lambda x, y: x.exp(), "exp", "exp_backward"),
    "log": (lambda x, y: x.log(), "log", "log_backward"),
    "tanh": (lambda x, y: x.tanh(), "tanh", "tanh_backward"),
    "sigmoid": (lambda x, y: x.sigmoid(), "sigmoid", "sigmoid_backward"),
    "relu": (lambda x, y: x.relu(), "relu", "relu_backward"),
}
BINARY = {"add", "mul", "div"}


class KernelForward:
    """The backend's forward kernels called on arrays: what the compiled loops gain, without autograd."""

    params = [BACKENDS, list(OPS), DTYPES, list(LAYOUTS), KERNEL_SIZES]
    param_names = ["backend", "op", "dtype", "layout", "size"]

    def setup(self, backend, op, dtype, layout, size):
        use_backend(backend)
        self.kernel, self.args = _kernel_case(OPS[op][1], dtype, layout, size)

    def time_forward(self, backend, op, dtype, layout, size):
        self.kernel(*self.args)


class KernelBackward:
    """The fused backward kernels: one pass computing an input's gradient from the output's."""

    params = [BACKENDS, [op for op, spec in OPS.items() if spec[2] is not None], DTYPES, list(LAYOUTS),
              KERNEL_SIZES]
    param_names = ["backend", "op", "dtype", "layout", "size"]

    def setup(self, backend, op, dtype, layout, size):
        use_backend(backend)
        self.kernel, self.args = _kernel_case(OPS[op][2], dtype, layout, size)

    def time_fused_backward(self, backend, op, dtype, layout, size):
        self.kernel(*self.args)


def _kernel_case(name, dtype, layout, size):
    """The kernel ``name`` and its operands in ``layout`` (the harness's), or NotImplementedError
    (asv skips the case) where the layout does not apply."""
    nargs = len(inspect.signature(getattr(pure_kernels, name)).parameters)
    if (size, layout) not in set(cases(nargs, (size,), (layout,))):
        raise NotImplementedError(f"no {layout} case of {size} element(s) for {name}")
    return getattr(kernels, name), operands(nargs, np.dtype(dtype).type, size, layout)


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
