"""The op table: each elementwise op declared once.

An entry reads like a line of PyTorch's ``native_functions.yaml`` joined to its
``derivatives.yaml`` line:

    Op("sin(Tensor self)", node="SinBackward0", kernel="sin", dtype="float",
       derivatives={"self": "grad * cos(self)"}, fused={"self": "sin_backward(grad, self)"},
       rule="d(sin(u))/du = cos(u)")

- ``schema``: PyTorch's signature.  ``self`` is the first argument (exposed as ``input`` by
  ``pygrad.sin``), ``*`` starts the keyword-only ones; ``out=`` is added unless ``out=False``.
- ``node``: the grad_fn name.  ``derivatives``: the gradient of each input, one expression over
  the argument names, ``result`` and ``grad``; what it names is what the node saves.
- ``kernel`` (the backend kernel computing the forward) or ``forward`` (an expression over the
  arrays).  ``fused``: a compiled kernel computing a derivative in one pass for plain backward.
- ``dtype``: "float" (integers compute in the default float), "same", "promote" (binary
  promotion), "promote_float" (and integers give the default float).
- ``method``/``inplace``/``function``/``functional``: which variants exist; ``impl(Fn, ...)``
  holds argument handling that does not fit a schema (dtype checks, shortcuts).

Adding an elementwise op is adding an entry here (and its rows in the test tables).
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..tensor import Tensor
from ._opdef import TENSOR_NS, Op, install

_LN2, _LN10 = 0.6931471805599453, 2.302585092994046
_ZERO = "piecewise constant: d/du = 0 (no gradient flows)"


# -- argument handling that does not fit a schema ----------------------------------------------

def _not_implemented_for(x: Tensor, kernel: str):
    return NotImplementedError(f'"{kernel}" not implemented for \'{x.dtype._tensor_type[:-6]}\'')


def _floating(kernel: str):
    """Refuse integer inputs as PyTorch's kernel does."""
    def impl(Fn, self, **attrs):
        if not self.dtype.is_floating_point:
            raise _not_implemented_for(self, kernel)
        return Fn.apply(self, *attrs.values())
    return impl


def _keep_integers(Fn, self):
    """floor/ceil/round/trunc of an integer tensor is a copy (no rounding to do)."""
    if not self.dtype.is_floating_point:
        return Tensor._wrap(self._data.copy())
    return Fn.apply(self)


def _sign(Fn, self):
    return self.clone() if self.dtype is dtypes.bool else Fn.apply(self)


def _round(Fn, self, decimals=0):
    if decimals:
        return _ROUND_DECIMALS.fn.apply(self, decimals)
    return _keep_integers(Fn, self)


def _nan_to_num(Fn, self, nan=0.0, posinf=None, neginf=None):
    if not self.dtype.is_floating_point:
        return self.clone()
    return Fn.apply(self, nan, posinf, neginf)


def _square(Fn, self):
    """``x * x`` as PyTorch computes it: ``pow(x, 2)`` (PowBackward0)."""
    if self.dtype is dtypes.bool:
        return self.to(dtypes.int64) ** 2
    return self ** 2


def _integral(kernel: str):
    """Refuse floating inputs (the bitwise ops)."""
    def impl(Fn, self, **others):
        for t in (self,) + tuple(others.values()):
            if isinstance(t, Tensor) and t.dtype.is_floating_point:
                raise _not_implemented_for(t, kernel)
        return Fn.apply(self, *others.values())
    return impl


def _gelu(Fn, self, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return _floating("GeluKernelImpl")(Fn, self, approximate=approximate)


def _maybe_inplace(kernel: str):
    """F.leaky_relu(x, ..., inplace=True): the result is written into x.  Number arguments are floats."""
    def impl(Fn, self, inplace=False, **attrs):
        if not self.dtype.is_floating_point:
            raise _not_implemented_for(self, kernel)
        out = Fn.apply(self, *(float(v) for v in attrs.values()))
        return self.copy_(out) if inplace else out
    return impl


# -- the table ----------------------------------------------------------------------------------

UNARY = [
    Op("exp(Tensor self)", node="ExpBackward0", kernel="exp", dtype="float", inplace=True,
       derivatives={"self": "grad * result"}, fused={"self": "exp_backward(grad, result)"},
       rule="d(exp(u))/du = exp(u)"),
    Op("log(Tensor self)", node="LogBackward0", kernel="log", dtype="float", inplace=True, quiet=True,
       derivatives={"self": "grad / self"}, fused={"self": "log_backward(grad, self)"},
       rule="d(log(u))/du = 1/u"),
    Op("sqrt(Tensor self)", node="SqrtBackward0", kernel="sqrt", dtype="float", inplace=True, quiet=True,
       derivatives={"self": "grad / (2 * result)"}, fused={"self": "sqrt_backward(grad, result)"},
       rule="d(sqrt(u))/du = 1/(2*sqrt(u))"),
    Op("sin(Tensor self)", node="SinBackward0", kernel="sin", dtype="float",
       derivatives={"self": "grad * cos(self)"}, fused={"self": "sin_backward(grad, self)"},
       rule="d(sin(u))/du = cos(u)"),
    Op("cos(Tensor self)", node="CosBackward0", kernel="cos", dtype="float",
       derivatives={"self": "grad * -sin(self)"}, fused={"self": "cos_backward(grad, self)"},
       rule="d(cos(u))/du = -sin(u)"),
    Op("tanh(Tensor self)", node="TanhBackward0", kernel="tanh", dtype="float", inplace=True, functional=True,
       derivatives={"self": "grad * (1 - result * result)"}, fused={"self": "tanh_backward(grad, result)"},
       rule="d(tanh(u))/du = 1 - tanh(u)**2"),
    Op("sigmoid(Tensor self)", node="SigmoidBackward0", kernel="sigmoid", dtype="float", inplace=True,
       functional=True, derivatives={"self": "grad * (1 - result) * result"},
       fused={"self": "sigmoid_backward(grad, result)"},
       rule="d(sigmoid(u))/du = sigmoid(u)*(1 - sigmoid(u))"),
    Op("relu(Tensor self)", node="ReluBackward0", kernel="relu", inplace=True,
       derivatives={"self": "grad * (result > 0)"}, fused={"self": "relu_backward(grad, result)"},
       rule="d(relu(u))/du = 1 where u > 0, else 0"),
    Op("abs(Tensor self)", node="AbsBackward0", kernel="abs",
       derivatives={"self": "grad * sign(self)"}, fused={"self": "abs_backward(grad, self)"},
       rule="d(|u|)/du = sign(u)"),
    Op("reciprocal(Tensor self)", node="ReciprocalBackward0", kernel="reciprocal", dtype="float", quiet=True,
       derivatives={"self": "grad * -(result * result)"}, fused={"self": "reciprocal_backward(grad, result)"},
       rule="d(1/u)/du = -1/u**2"),
    Op("rsqrt(Tensor self)", node="RsqrtBackward0", kernel="rsqrt", dtype="float", quiet=True,
       derivatives={"self": "grad * (-0.5 * result * result * result)"},
       rule="d(u**-0.5)/du = -0.5*u**-1.5"),
    Op("log1p(Tensor self)", node="Log1PBackward0", kernel="log1p", dtype="float", quiet=True,
       derivatives={"self": "grad / (self + 1)"}, rule="d(log(1 + u))/du = 1/(1 + u)"),
    Op("expm1(Tensor self)", node="Expm1Backward0", kernel="expm1", dtype="float",
       derivatives={"self": "grad * (result + 1)"}, rule="d(exp(u) - 1)/du = exp(u)"),
    Op("tan(Tensor self)", node="TanBackward0", kernel="tan", dtype="float",
       derivatives={"self": "grad * (1 + result * result)"}, rule="d(tan(u))/du = 1 + tan(u)**2"),
    Op("atan(Tensor self)", node="AtanBackward0", kernel="atan", dtype="float", aliases=("arctan",),
       derivatives={"self": "grad / (1 + self * self)"}, rule="d(atan(u))/du = 1/(1 + u**2)"),
    Op("erf(Tensor self)", node="ErfBackward0", kernel="erf", dtype="float",
       derivatives={"self": "grad * (1.1283791670955126 * exp(-(self * self)))"},
       rule="d(erf(u))/du = 2/sqrt(pi) * exp(-u**2)"),
    Op("exp2(Tensor self)", node="Exp2Backward0", kernel="exp2", dtype="float", quiet=True,
       derivatives={"self": f"grad * (result * {_LN2})"}, rule="d(2**u)/du = 2**u * log(2)"),
    Op("log2(Tensor self)", node="Log2Backward0", kernel="log2", dtype="float", quiet=True,
       derivatives={"self": f"grad / (self * {_LN2})"}, rule="d(log2(u))/du = 1/(u * log(2))"),
    Op("log10(Tensor self)", node="Log10Backward0", kernel="log10", dtype="float", quiet=True,
       derivatives={"self": f"grad / (self * {_LN10})"}, rule="d(log10(u))/du = 1/(u * log(10))"),
    Op("sinh(Tensor self)", node="SinhBackward0", kernel="sinh", dtype="float", quiet=True,
       derivatives={"self": "grad * cosh(self)"}, rule="d(sinh(u))/du = cosh(u)"),
    Op("cosh(Tensor self)", node="CoshBackward0", kernel="cosh", dtype="float", quiet=True,
       derivatives={"self": "grad * sinh(self)"}, rule="d(cosh(u))/du = sinh(u)"),
    Op("asin(Tensor self)", node="AsinBackward0", kernel="asin", dtype="float", quiet=True, aliases=("arcsin",),
       derivatives={"self": "grad * rsqrt(1 - self * self)"}, rule="d(asin(u))/du = 1/sqrt(1 - u**2)"),
    Op("acos(Tensor self)", node="AcosBackward0", kernel="acos", dtype="float", quiet=True, aliases=("arccos",),
       derivatives={"self": "grad * -rsqrt(1 - self * self)"}, rule="d(acos(u))/du = -1/sqrt(1 - u**2)"),
    Op("asinh(Tensor self)", node="AsinhBackward0", kernel="asinh", dtype="float", quiet=True,
       aliases=("arcsinh",), derivatives={"self": "grad * rsqrt(self * self + 1)"},
       rule="d(asinh(u))/du = 1/sqrt(u**2 + 1)"),
    Op("acosh(Tensor self)", node="AcoshBackward0", kernel="acosh", dtype="float", quiet=True,
       aliases=("arccosh",), derivatives={"self": "grad * rsqrt(self * self - 1)"},
       rule="d(acosh(u))/du = 1/sqrt(u**2 - 1)"),
    Op("atanh(Tensor self)", node="AtanhBackward0", kernel="atanh", dtype="float", quiet=True,
       aliases=("arctanh",), derivatives={"self": "grad / (1 - self * self)"},
       rule="d(atanh(u))/du = 1/(1 - u**2)"),
    Op("erfinv(Tensor self)", node="ErfinvBackward0", kernel="erfinv", dtype="float", quiet=True,
       derivatives={"self": "grad * (0.886226925452758 * exp(result * result))"},
       rule="d(erfinv(u))/du = sqrt(pi)/2 * exp(erfinv(u)**2)"),
    Op("nan_to_num(Tensor self, float? nan=0.0, float? posinf=None, float? neginf=None)",
       node="NanToNumBackward0", kernel="nan_to_num", inplace=True, impl=_nan_to_num,
       derivatives={"self": "where(isfinite(self), grad, 0.0)"},
       rule="d(nan_to_num(u))/du = 1 where u is finite, else 0"),
    Op("sign(Tensor self)", node="SignBackward0", kernel="sign", impl=_sign,
       derivatives={"self": "zeros_like(grad)"}, rule=_ZERO),
    Op("floor(Tensor self)", node="FloorBackward0", kernel="floor", impl=_keep_integers,
       derivatives={"self": "zeros_like(grad)"}, rule=_ZERO),
    Op("ceil(Tensor self)", node="CeilBackward0", kernel="ceil", impl=_keep_integers,
       derivatives={"self": "zeros_like(grad)"}, rule=_ZERO),
    Op("trunc(Tensor self)", node="TruncBackward0", kernel="trunc", impl=_keep_integers,
       derivatives={"self": "zeros_like(grad)"}, rule=_ZERO),
    Op("round(Tensor self, *, int decimals=0)", node="RoundBackward0", kernel="round", impl=_round, wrapper_only=("decimals",),
       derivatives={"self": "zeros_like(grad)"}, rule=_ZERO),
    Op("square(Tensor self)", impl=_square, kernel="square", rule="d(u**2)/du = 2*u"),
    # -- activations (pygrad.nn.functional) --------------------------------------------------
    Op("gelu(Tensor self, str approximate='none')", node="GeluBackward0", forward="gelu_tanh(self) if approximate == 'tanh' else gelu(self)",
       function=False, functional=True, impl=_gelu,
       derivatives={"self": "grad * (0.5 * (1 + tanh(0.7978845608028654 * (self + 0.044715 * self * self * self)))"
                            " + 0.5 * self * (1 - tanh(0.7978845608028654 * (self + 0.044715 * self * self * self))"
                            " ** 2) * (0.7978845608028654 * (1 + 3 * 0.044715 * self * self)))"
                            " if approximate == 'tanh' else"
                            " grad * (0.5 * (1 + erf(self * 0.7071067811865476))"
                            " + self * exp(-0.5 * self * self) * 0.3989422804014327)"},
       rule="d(gelu(u))/du = Phi(u) + u*phi(u) (normal cdf and density)"),
    Op("leaky_relu(Tensor self, float negative_slope=0.01, bool inplace=False)", node="LeakyReluBackward0",
       kernel="leaky_relu", function=False, method=False, functional=True,
       impl=_maybe_inplace("leaky_relu_cpu"),
       derivatives={"self": "where(self > 0, grad, grad * negative_slope)"},
       rule="d(leaky_relu(u))/du = 1 where u > 0, else negative_slope"),
    Op("elu(Tensor self, float alpha=1.0, bool inplace=False)", node="EluBackward0", kernel="elu",
       function=False, method=False, functional=True, impl=_maybe_inplace("elu_cpu"),
       derivatives={"self": "where(self > 0, grad, grad * (result + alpha))"},
       rule="d(elu(u))/du = 1 where u > 0, else alpha*exp(u)"),
    Op("softplus(Tensor self, float beta=1.0, float threshold=20.0)", node="SoftplusBackward0",
       kernel="softplus", function=False, method=False, functional=True,
       impl=_maybe_inplace("softplus_cpu"),
       derivatives={"self": "where(self * beta > threshold, grad, grad * sigmoid(self * beta))"},
       rule="d(softplus(u))/du = sigmoid(beta*u)"),
    Op("silu(Tensor self, bool inplace=False)", node="SiluBackward0", kernel="silu", function=False,
       method=False, functional=True, impl=_maybe_inplace("silu_cpu"),
       derivatives={"self": "grad * (sigmoid(self) * (1 + self * (1 - sigmoid(self))))"},
       rule="d(u*sigmoid(u))/du = s*(1 + u*(1 - s)),  s = sigmoid(u)"),
]

_ROUND_DECIMALS = Op("round_decimals(Tensor self, int decimals)", node="RoundBackward1",
                     forward="around(self, decimals)", function=False, method=False,
                     derivatives={"self": "zeros_like(grad)"}, rule=_ZERO)

OPS = UNARY + [_ROUND_DECIMALS]


# -- building and installing ----------------------------------------------------------------------

def _build():
    from ..creation import zeros_like
    from .arith import where
    from .inplace import inplace
    from .logic import isfinite
    TENSOR_NS.update(where=where, isfinite=isfinite, zeros_like=zeros_like)
    return install(OPS, inplace)


FUNCTIONS, FUNCTIONAL = _build()
