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
- ``method``/``inplace``/``function``/``functional``: which variants exist (``inplace_function``:
  ``pygrad.<name>_`` too, where PyTorch has it); ``impl(Fn, ...)``
  holds argument handling that does not fit a schema (dtype checks, shortcuts).

Adding an elementwise op is adding an entry here (and its rows in the test tables).
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from .._backend import kernels as _kernels
from ..tensor import Tensor
from . import _special
from . import _opdef, _opdocs
from ._opdef import ARRAY_NS, TENSOR_NS, Op, install
from ._util import as_tensor, binary_operands
from .arith import (DivRounding, _check_bool_subtraction, _floating_only, _floating_result, check_rounding_mode,
                    not_both_bool, scaled_operand)

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


def _keep_integers(kernel: str):
    """floor/ceil/round/trunc of an integer tensor is a copy (no rounding to do); of a bool
    tensor PyTorch's kernel refuses."""
    def impl(Fn, self):
        if self.dtype is dtypes.bool:
            raise _not_implemented_for(self, kernel)
        if not self.dtype.is_floating_point:
            return Tensor._wrap(self._data.copy())
        return Fn.apply(self)
    return impl


def _no_bool(error):
    """Refuse a bool tensor with PyTorch's ``error(x)``."""
    def impl(Fn, self):
        if self.dtype is dtypes.bool:
            raise error(self)
        return Fn.apply(self)
    return impl


def _sign(Fn, self):
    return self.clone() if self.dtype is dtypes.bool else Fn.apply(self)


def _round(Fn, self, decimals=0):
    if decimals:
        return _ROUND_DECIMALS.fn.apply(self, decimals)
    return _keep_integers("round_vml_cpu")(Fn, self)


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
    """Refuse floating operands (the bitwise ops)."""
    def impl(Fn, self, **others):
        tensors = binary_operands(self, *others.values()) if others else (self,)
        for t in tensors:
            if t.dtype.is_floating_point:
                raise _not_implemented_for(t, kernel)
        return Fn.apply(*tensors)
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
    Op("exp(Tensor self)", inplace_function=True, node="ExpBackward0", kernel="exp", dtype="float", inplace=True,
       derivatives={"self": "grad * result"}, fused={"self": "exp_backward(grad, result)"},
       rule="d(exp(u))/du = exp(u)"),
    Op("log(Tensor self)", inplace_function=True,
       node="LogBackward0", kernel="log", dtype="float", inplace=True, quiet=True,
       derivatives={"self": "grad / self"}, fused={"self": "log_backward(grad, self)"},
       rule="d(log(u))/du = 1/u"),
    Op("sqrt(Tensor self)", inplace_function=True,
       node="SqrtBackward0", kernel="sqrt", dtype="float", inplace=True, quiet=True,
       derivatives={"self": "grad / (2 * result)"}, fused={"self": "sqrt_backward(grad, result)"},
       rule="d(sqrt(u))/du = 1/(2*sqrt(u))"),
    Op("sin(Tensor self)", inplace=True, inplace_function=True, node="SinBackward0", kernel="sin", dtype="float",
       derivatives={"self": "grad * cos(self)"}, fused={"self": "sin_backward(grad, self)"},
       rule="d(sin(u))/du = cos(u)"),
    Op("cos(Tensor self)", inplace=True, inplace_function=True, node="CosBackward0", kernel="cos", dtype="float",
       derivatives={"self": "grad * -sin(self)"}, fused={"self": "cos_backward(grad, self)"},
       rule="d(cos(u))/du = -sin(u)"),
    Op("tanh(Tensor self)", inplace_function=True,
       node="TanhBackward0", kernel="tanh", dtype="float", inplace=True, functional=True,
       derivatives={"self": "grad * (1 - result * result)"}, fused={"self": "tanh_backward(grad, result)"},
       rule="d(tanh(u))/du = 1 - tanh(u)**2"),
    Op("sigmoid(Tensor self)", inplace_function=True,
       node="SigmoidBackward0", kernel="sigmoid", dtype="float", inplace=True,
       functional=True, derivatives={"self": "grad * (1 - result) * result"},
       fused={"self": "sigmoid_backward(grad, result)"},
       rule="d(sigmoid(u))/du = sigmoid(u)*(1 - sigmoid(u))"),
    Op("relu(Tensor self)", inplace_function=True, node="ReluBackward0", kernel="relu", inplace=True,
       impl=_no_bool(lambda x: RuntimeError("Boolean inputs not supported for relu")),
       derivatives={"self": "relu_backward(grad, result)"},
       rule="d(relu(u))/du = 1 where u > 0, else 0"),
    Op("abs(Tensor self)", inplace=True, inplace_function=True, node="AbsBackward0", kernel="abs", impl=_no_bool(lambda x: _not_implemented_for(x, "abs_cpu")),
       derivatives={"self": "grad * sgn(self)"}, fused={"self": "abs_backward(grad, self)"},
       rule="d(|u|)/du = sign(u)"),
    Op("reciprocal(Tensor self)", inplace=True, inplace_function=True,
       node="ReciprocalBackward0", kernel="reciprocal", dtype="float", quiet=True,
       derivatives={"self": "grad * -(result * result)"}, fused={"self": "reciprocal_backward(grad, result)"},
       rule="d(1/u)/du = -1/u**2"),
    Op("rsqrt(Tensor self)", inplace=True, inplace_function=True,
       node="RsqrtBackward0", kernel="rsqrt", dtype="float", quiet=True,
       derivatives={"self": "grad * (-0.5 * result * result * result)"},
       rule="d(u**-0.5)/du = -0.5*u**-1.5"),
    Op("log1p(Tensor self)", inplace=True, inplace_function=True,
       node="Log1PBackward0", kernel="log1p", dtype="float", quiet=True,
       derivatives={"self": "grad / (self + 1)"}, rule="d(log(1 + u))/du = 1/(1 + u)"),
    Op("expm1(Tensor self)", inplace=True, inplace_function=True, node="Expm1Backward0", kernel="expm1", dtype="float",
       derivatives={"self": "grad * (result + 1)"}, rule="d(exp(u) - 1)/du = exp(u)"),
    Op("tan(Tensor self)", inplace=True, inplace_function=True, node="TanBackward0", kernel="tan", dtype="float",
       derivatives={"self": "grad * (1 + result * result)"}, rule="d(tan(u))/du = 1 + tan(u)**2"),
    Op("atan(Tensor self)", inplace=True, inplace_function=True,
       node="AtanBackward0", kernel="atan", dtype="float", aliases=("arctan",),
       derivatives={"self": "grad / (1 + self * self)"}, rule="d(atan(u))/du = 1/(1 + u**2)"),
    Op("erf(Tensor self)", inplace=True, inplace_function=True, node="ErfBackward0", kernel="erf", dtype="float",
       derivatives={"self": "grad * (1.1283791670955126 * exp(-(self * self)))"},
       rule="d(erf(u))/du = 2/sqrt(pi) * exp(-u**2)"),
    Op("exp2(Tensor self)", inplace=True, inplace_function=True,
       node="Exp2Backward0", kernel="exp2", dtype="float", quiet=True,
       derivatives={"self": f"grad * (result * {_LN2})"}, rule="d(2**u)/du = 2**u * log(2)"),
    Op("log2(Tensor self)", inplace=True, inplace_function=True,
       node="Log2Backward0", kernel="log2", dtype="float", quiet=True,
       derivatives={"self": f"grad / (self * {_LN2})"}, rule="d(log2(u))/du = 1/(u * log(2))"),
    Op("log10(Tensor self)", inplace=True, inplace_function=True,
       node="Log10Backward0", kernel="log10", dtype="float", quiet=True,
       derivatives={"self": f"grad / (self * {_LN10})"}, rule="d(log10(u))/du = 1/(u * log(10))"),
    Op("sinh(Tensor self)", inplace=True, inplace_function=True,
       node="SinhBackward0", kernel="sinh", dtype="float", quiet=True,
       derivatives={"self": "grad * cosh(self)"}, rule="d(sinh(u))/du = cosh(u)"),
    Op("cosh(Tensor self)", inplace=True, inplace_function=True,
       node="CoshBackward0", kernel="cosh", dtype="float", quiet=True,
       derivatives={"self": "grad * sinh(self)"}, rule="d(cosh(u))/du = sinh(u)"),
    Op("asin(Tensor self)", inplace=True, inplace_function=True,
       node="AsinBackward0", kernel="asin", dtype="float", quiet=True, aliases=("arcsin",),
       derivatives={"self": "grad * rsqrt(1 - self * self)"}, rule="d(asin(u))/du = 1/sqrt(1 - u**2)"),
    Op("acos(Tensor self)", inplace=True, inplace_function=True,
       node="AcosBackward0", kernel="acos", dtype="float", quiet=True, aliases=("arccos",),
       derivatives={"self": "grad * -rsqrt(1 - self * self)"}, rule="d(acos(u))/du = -1/sqrt(1 - u**2)"),
    Op("asinh(Tensor self)", inplace=True, inplace_function=True,
       node="AsinhBackward0", kernel="asinh", dtype="float", quiet=True,
       aliases=("arcsinh",), derivatives={"self": "grad * rsqrt(self * self + 1)"},
       rule="d(asinh(u))/du = 1/sqrt(u**2 + 1)"),
    Op("acosh(Tensor self)", inplace=True, inplace_function=True,
       node="AcoshBackward0", kernel="acosh", dtype="float", quiet=True,
       aliases=("arccosh",), derivatives={"self": "grad * rsqrt(self * self - 1)"},
       rule="d(acosh(u))/du = 1/sqrt(u**2 - 1)"),
    Op("atanh(Tensor self)", inplace=True, inplace_function=True,
       node="AtanhBackward0", kernel="atanh", dtype="float", quiet=True,
       aliases=("arctanh",), derivatives={"self": "grad / (1 - self * self)"},
       rule="d(atanh(u))/du = 1/(1 - u**2)"),
    Op("erfinv(Tensor self)", inplace=True, node="ErfinvBackward0", kernel="erfinv", dtype="float", quiet=True,
       derivatives={"self": "grad * (0.886226925452758 * exp(square(erfinv(self))))"},  # saves self, as PyTorch
       rule="d(erfinv(u))/du = sqrt(pi)/2 * exp(erfinv(u)**2)"),
    Op("nan_to_num(Tensor self, float? nan=0.0, float? posinf=None, float? neginf=None)", inplace_function=True,
       node="NanToNumBackward0", kernel="nan_to_num", inplace=True, impl=_nan_to_num,
       derivatives={"self": "where(isfinite(self), grad, 0.0)"},
       rule="d(nan_to_num(u))/du = 1 where u is finite, else 0"),
    Op("sign(Tensor self)", inplace=True, node="SignBackward0", kernel="sign", impl=_sign,
       derivatives={"self": "zeros_like(grad)"}, rule=_ZERO),
    Op("floor(Tensor self)", inplace=True, inplace_function=True,
       node="FloorBackward0", kernel="floor", impl=_keep_integers("floor_vml_cpu"),
       derivatives={"self": "zeros_like(grad)"}, rule=_ZERO),
    Op("ceil(Tensor self)", inplace=True, inplace_function=True,
       node="CeilBackward0", kernel="ceil", impl=_keep_integers("ceil_vml_cpu"),
       derivatives={"self": "zeros_like(grad)"}, rule=_ZERO),
    Op("trunc(Tensor self)", inplace=True, inplace_function=True,
       node="TruncBackward0", kernel="trunc", impl=_keep_integers("trunc_vml_cpu"),
       derivatives={"self": "zeros_like(grad)"}, rule=_ZERO),
    Op("round(Tensor self, *, int decimals=0)", inplace=True, inplace_function=True,
       node="RoundBackward0", kernel="round", impl=_round, wrapper_only=("decimals",),
       derivatives={"self": "zeros_like(grad)"}, rule=_ZERO),
    Op("deg2rad(Tensor self)", inplace_function=True,
       node="Deg2RadBackward0", forward="self * 0.017453292519943295", dtype="float",
       inplace=True, derivatives={"self": "grad * 0.017453292519943295"}, rule="d(u * pi/180)/du = pi/180"),
    Op("rad2deg(Tensor self)", inplace_function=True,
       node="Rad2DegBackward0", forward="self * 57.29577951308232", dtype="float",
       inplace=True, derivatives={"self": "grad * 57.29577951308232"}, rule="d(u * 180/pi)/du = 180/pi"),
    Op("frac(Tensor self)", inplace_function=True, node="FracBackward0", forward="self - trunc(self)", inplace=True,
       impl=_floating("frac_cpu"), derivatives={"self": "grad"}, rule="d(u - trunc(u))/du = 1"),
    Op("sinc(Tensor self)", inplace_function=True,
       node="SincBackward0", forward="where(self == 0, 1.0, sin(pi * self) / (pi * self))",
       dtype="float", quiet=True, inplace=True,
       derivatives={"self": "grad * where(self == 0, 0.0, (cos(pi * self) * pi * self - sin(pi * self))"
                            " / (pi * self * self))"},
       rule="d(sin(pi*u)/(pi*u))/du = (cos(pi*u)*pi*u - sin(pi*u)) / (pi*u**2), 0 at u = 0"),
    Op("logit(Tensor self, float? eps=None)", inplace_function=True,
       node="LogitBackward0", dtype="float", quiet=True, inplace=True,
       forward="log(self / (1 - self)) if eps is None else"
               " log(clip(self, eps, 1 - eps) / (1 - clip(self, eps, 1 - eps)))",
       derivatives={"self": "grad / (self * (1 - self)) if eps is None else"
                            " where((self < eps) | (self > 1 - eps), 0.0, grad / (self * (1 - self)))"},
       rule="d(log(u/(1 - u)))/du = 1/(u*(1 - u)) (0 outside [eps, 1 - eps])"),
    Op("lgamma(Tensor self)", node="LgammaBackward0", forward="lgamma(self)", dtype="float", inplace=True,
       derivatives={"self": "grad * digamma(self)"}, rule="d(log|Gamma(u)|)/du = digamma(u)"),
    Op("digamma(Tensor self)", node="DigammaBackward0", forward="digamma(self)", dtype="float", inplace=True,
       derivatives={"self": "grad * trigamma(self)"}, rule="d(digamma(u))/du = trigamma(u) = polygamma(1, u)"),
    Op("square(Tensor self)", inplace_function=True, impl=_square, rule="x ** 2 (PowBackward0)"),
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
       derivatives={"self": "leaky_relu_backward(grad, self, negative_slope)"},
       rule="d(leaky_relu(u))/du = 1 where u > 0, else negative_slope"),
    Op("elu(Tensor self, float alpha=1.0, bool inplace=False)", node="EluBackward0", kernel="elu",
       function=False, method=False, functional=True, impl=_maybe_inplace("elu_cpu"),
       derivatives={"self": "where(self > 0, grad, grad * alpha * exp(self))"},  # saves self only, as PyTorch
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

# softmax along a dim; the argument handling is in ops/activation.py
SOFTMAX = Op("_softmax(Tensor self, int? dim)", node="SoftmaxBackward0", kernel="softmax", quiet=True,
             function=False, method=False, derivatives={"self": "result * (grad - sum_keep(grad * result, dim))"},
             rule="d softmax: grad_u = s * (grad - sum(grad * s)), s = softmax(u)")
LOG_SOFTMAX = Op("_log_softmax(Tensor self, int? dim)", node="LogSoftmaxBackward0", kernel="log_softmax",
                 quiet=True, function=False, method=False,
                 derivatives={"self": "grad - exp(result) * sum_keep(grad, dim)"},
                 rule="d log_softmax: grad_u = grad - softmax(u) * sum(grad)")

# polygamma(1, u), for digamma's derivative; its own derivative is not implemented.
_TRIGAMMA = Op("trigamma(Tensor self)", forward="trigamma(self)", dtype="float", function=False, method=False,
               aten="polygamma")

_ROUND_DECIMALS = Op("round_decimals(Tensor self, int decimals)", node="RoundBackward1",
                     forward="around(self, decimals)", function=False, method=False,
                     derivatives={"self": "zeros_like(grad)"}, rule=_ZERO)



# -- binary ops: argument handling -------------------------------------------------------------

def _add(Fn, self, other, alpha=1):
    return Fn.apply(*binary_operands(self, scaled_operand(self, other, alpha)))


def _sub(Fn, self, other, alpha=1):
    _check_bool_subtraction(self, other)
    return Fn.apply(*binary_operands(self, scaled_operand(self, other, alpha)))


def _rsub(Fn, self, other, alpha=1):
    """``other - self`` for a number or array ``other``."""
    _check_bool_subtraction(self, other)
    if isinstance(other, (Tensor, np.ndarray)):
        return _sub(SUB.fn, as_tensor(other), self, alpha)
    return Fn.apply(*binary_operands(self, scaled_operand(self, other, alpha)))


def _div(Fn, self, other, rounding_mode=None):
    if rounding_mode is None:
        return Fn.apply(*binary_operands(self, other))
    check_rounding_mode(rounding_mode)
    a, b = binary_operands(self, other)
    if dtypes.result_type(a, b) is dtypes.bool:
        raise NotImplementedError(f'"div_{rounding_mode}_cpu" not implemented for \'Bool\'')
    return DivRounding.apply(a, b, rounding_mode)


def _rdiv(self, other):
    """``other / self``: a number times the reciprocal, as PyTorch computes it."""
    if isinstance(other, (Tensor, np.ndarray)):
        return DIV.fn.apply(*binary_operands(as_tensor(other), self))
    return self.reciprocal() * other


def _neg(Fn, self):
    if self.dtype is dtypes.bool:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are "
                           "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    return Fn.apply(self)


def _floating_pair(kernel: str):
    def impl(Fn, self, other):
        _floating_only(kernel, self, other)
        return Fn.apply(self, other)
    return impl


def _xlogy(Fn, self, other):
    """``self * log(other)`` with ``xlogy(0, other) == 0``; a number on either side has its own node."""
    if not isinstance(self, Tensor):
        return _XLOGY_OF_NUMBER.fn.apply(as_tensor(self, _floating_result(other)), other)
    if not isinstance(other, Tensor):
        return _XLOGY_NUMBER.fn.apply(self, as_tensor(other, _floating_result(self)))
    return Fn.apply(self, other)


def _nonzero_divisor(x, y) -> None:
    if x.dtype.kind in "iu" and not np.all(y):
        raise RuntimeError("ZeroDivisionError")


def _fmod(Fn, self, other):
    a, b = binary_operands(self, other)
    if isinstance(other, (Tensor, np.ndarray)):
        return Fn.apply(*not_both_bool("fmod_cpu", a, b))
    return _FMOD_NUMBER.fn.apply(a, b)


def _remainder(Fn, self, other):
    if not isinstance(self, Tensor):
        return _REMAINDER_OF_NUMBER.fn.apply(*binary_operands(self, other))
    a, b = binary_operands(self, other)
    if isinstance(other, (Tensor, np.ndarray)):
        return Fn.apply(*not_both_bool("remainder_cpu", a, b))
    return _REMAINDER_NUMBER.fn.apply(a, b)


def _floor_divide(Fn, self, other):
    a, b = binary_operands(self, other)
    if dtypes.result_type(a, b) is dtypes.bool:
        raise NotImplementedError('"div_floor_cpu" not implemented for \'Bool\'')
    return Fn.apply(a, b)


def _copysign(Fn, self, other):
    if not isinstance(other, Tensor):
        return _COPYSIGN_NUMBER.fn.apply(*binary_operands(self, other))
    return Fn.apply(self, other)


def _float_power(Fn, self, exponent):
    """PyTorch's composite: both sides in float64, then pow (PowBackward0/1)."""
    if isinstance(exponent, Tensor):
        return self.double() ** exponent.double()
    return self.double() ** float(exponent)


def _checked(kernel: str):
    """An integer division by zero raises (PyTorch's error), as the CPU would trap."""
    def forward(a, b):
        _nonzero_divisor(a, b)
        return getattr(_kernels, kernel)(a, b)
    return forward


ARRAY_NS.update(fmod_checked=_checked("fmod"), remainder_checked=_checked("remainder"),
                floor_divide_checked=_checked("floor_divide"), xlogy=lambda a, b: _kernels.xlogy(a, b),
                div_floor=np.floor_divide, sum_keep=lambda a, dim: np.sum(a, axis=dim, keepdims=True),
                lgamma=_special.lgamma, digamma=_special.digamma, trigamma=_special.trigamma)


_ATAN2_SHARE = "grad * atan2_recip(self, other)"
_XLOGY_SELF, _XLOGY_OTHER = "grad * xlogy(self != 0, other)", "grad * self / other"

ADD = Op("add(TensorLike self, TensorLike other, *, Scalar alpha=1)", node="AddBackward0", kernel="add", dtype="promote",
         derivatives={"self": "grad", "other": "grad"}, impl=_add, wrapper_only=("alpha",),
         operators=("__add__", "__radd__"), rule="d(u + v)/du = 1,  d(u + v)/dv = 1")
SUB = Op("sub(TensorLike self, TensorLike other, *, Scalar alpha=1)", node="SubBackward0", kernel="sub", dtype="promote",
         derivatives={"self": "grad", "other": "-grad"}, impl=_sub, wrapper_only=("alpha",), aliases=("subtract",),
         operators=("__sub__=method",), rule="d(u - v)/du = 1,  d(u - v)/dv = -1")
RSUB = Op("rsub(Tensor self, TensorLike other, *, Scalar alpha=1)", node="RsubBackward1", forward="sub(other, self)",
          dtype="promote", derivatives={"self": "-grad"}, impl=_rsub, wrapper_only=("alpha",), method=False, function=False,
          operators=("__rsub__=method",), rule="d(s - u)/du = -1")
MUL = Op("mul(TensorLike self, TensorLike other)", node="MulBackward0", kernel="mul", dtype="promote", inplace=True,
         derivatives={"self": "grad * other", "other": "grad * self"}, aliases=("multiply",),
         fused={"self": "mul_backward(grad, other)", "other": "mul_backward(grad, self)"},
         operators=("__mul__", "__rmul__"), rule="d(u * v)/du = v,  d(u * v)/dv = u")
DIV = Op("div(TensorLike self, TensorLike other, *, str? rounding_mode=None)", node="DivBackward0", kernel="div",
         dtype="promote_float", derivatives={"self": "grad / other", "other": "-grad * self / (other * other)"},
         fused={"self": "div_backward_a(grad, other)", "other": "div_backward_b(grad, self, other)"},
         impl=_div, wrapper_only=("rounding_mode",), aliases=("divide", "true_divide"), operators=("__truediv__",),
         rule="d(u / v)/du = 1/v,  d(u / v)/dv = -u/v**2")
NEG = Op("neg(Tensor self)", inplace_function=True,
         node="NegBackward0", kernel="neg", derivatives={"self": "-grad"}, impl=_neg,
         inplace=True, aliases=("negative",), operators=("__neg__=method",), rule="d(-u)/du = -1")
MAXIMUM = Op("maximum(Tensor self, Tensor other)", node="MaximumBackward0", kernel="maximum", dtype="promote",
             # Written so that where either input is NaN both get the whole gradient, as in PyTorch.
             derivatives={"self": "where(self == other, grad * 0.5, where(self < other, 0.0, grad))",
                          "other": "where(self == other, grad * 0.5, where(other < self, 0.0, grad))"},
             rule="d(maximum(u, v)): 1 to the larger input (half each on ties)")
MINIMUM = Op("minimum(Tensor self, Tensor other)", node="MinimumBackward0", kernel="minimum", dtype="promote",
             derivatives={"self": "where(self == other, grad * 0.5, where(self > other, 0.0, grad))",
                          "other": "where(self == other, grad * 0.5, where(other > self, 0.0, grad))"},
             rule="d(minimum(u, v)): 1 to the smaller input (half each on ties)")

BINARY = [
    ADD, SUB, RSUB, MUL, DIV, NEG, MAXIMUM, MINIMUM,
    Op("hypot(Tensor self, Tensor other)", inplace=True,
       node="HypotBackward0", kernel="hypot", dtype="promote", quiet=True,
       impl=_floating_pair("hypot"), derivatives={"self": "grad * self / result", "other": "grad * other / result"},
       rule="d(hypot(u, v))/du = u/hypot(u, v),  d/dv = v/hypot(u, v)"),
    Op("logaddexp(Tensor self, Tensor other)", node="LogaddexpBackward0", kernel="logaddexp", dtype="promote",
       quiet=True, impl=_floating_pair("logaddexp"),
       derivatives={"self": "grad / (1 + exp(other - self))", "other": "grad / (1 + exp(self - other))"},
       rule="d(log(exp(u) + exp(v)))/du = 1/(1 + exp(v - u)),  d/dv = 1/(1 + exp(u - v))"),
    Op("logaddexp2(Tensor self, Tensor other)", node="Logaddexp2Backward0", forward="logaddexp2(self, other)",
       dtype="promote", quiet=True, impl=_floating_pair("logaddexp2"),
       derivatives={"self": "grad / (1 + exp2(other - self))", "other": "grad / (1 + exp2(self - other))"},
       rule="d(log2(2**u + 2**v))/du = 1/(1 + 2**(v - u)),  d/dv = 1/(1 + 2**(u - v))"),
    Op("xlogy(TensorLike self, TensorLike other)", inplace=True, inplace_function=True,
       node="XlogyBackward0", kernel="xlogy", dtype="promote_float",
       quiet=True, impl=_xlogy, derivatives={"self": _XLOGY_SELF, "other": _XLOGY_OTHER},
       rule="d(u*log(v))/du = log(v) (0 where u == 0),  d/dv = u/v"),
    Op("atan2(Tensor self, Tensor other)", inplace=True, node="Atan2Backward0", forward="arctan2(self, other)",
       dtype="promote_float", quiet=True, aliases=("arctan2",),
       derivatives={"self": f"{_ATAN2_SHARE} * other", "other": f"-({_ATAN2_SHARE}) * self"},
       rule="d atan2(a, b) = (b*da - a*db) / (a**2 + b**2)"),
    Op("fmod(Tensor self, TensorLike other)", inplace=True, node="FmodBackward1", forward="fmod_checked(self, other)",
       dtype="promote", quiet=True, impl=_fmod,
       derivatives={"self": "grad", "other": "-grad * trunc(self / other)"},
       rule="d(fmod(u, v))/du = 1,  d(fmod(u, v))/dv = -trunc(u / v)"),
    Op("remainder(TensorLike self, TensorLike other)", inplace=True, node="RemainderBackward1",
       forward="remainder_checked(self, other)", dtype="promote", quiet=True, impl=_remainder,
       operators=("__mod__=method",), derivatives={"self": "grad", "other": "-grad * div_floor(self, other)"},
       rule="d(u % v)/du = 1,  d(u % v)/dv = -floor(u / v)"),
    Op("floor_divide(Tensor self, TensorLike other)", inplace=True,
       forward="floor_divide_checked(self, other)", dtype="promote",
       quiet=True, impl=_floor_divide, operators=("__floordiv__=method",)),
    Op("copysign(Tensor self, TensorLike other)", inplace=True,
       node="CopysignBackward0", forward="copysign(self, other)",
       dtype="promote_float", impl=_copysign,
       derivatives={"self": "grad * where(self == 0, 0.0, result / self)", "other": "zeros_like(grad)"},
       rule="d(copysign(u, v))/du = sign(u)*sign(v) (0 where u == 0),  d/dv = 0"),
    Op("float_power(Tensor self, TensorLike exponent)", impl=_float_power, rule="pow in float64"),
    Op("bitwise_and(Tensor self, TensorLike other)", inplace=True, forward="bitwise_and(self, other)", dtype="promote",
       impl=_integral("bitwise_and_cpu"), operators=("__and__=method", "__rand__=method")),
    Op("bitwise_or(Tensor self, TensorLike other)", inplace=True, forward="bitwise_or(self, other)", dtype="promote",
       impl=_integral("bitwise_or_cpu"), operators=("__or__=method", "__ror__=method")),
    Op("bitwise_xor(Tensor self, TensorLike other)", inplace=True, forward="bitwise_xor(self, other)", dtype="promote",
       impl=_integral("bitwise_xor_cpu"), operators=("__xor__=method", "__rxor__=method")),
    Op("bitwise_not(Tensor self)", inplace=True, forward="invert(self)", impl=_integral("bitwise_not_cpu")),
]

# The nodes of a number operand (PyTorch's Scalar overloads): the same derivatives, fewer inputs.
_XLOGY_OF_NUMBER = Op("xlogy_of_number(Tensor self, Tensor other)", node="XlogyBackward1", kernel="xlogy",
                      dtype="promote_float", quiet=True, function=False, method=False,
                      derivatives={"other": _XLOGY_OTHER}, rule="d(s*log(v))/dv = s/v")
_XLOGY_NUMBER = Op("xlogy_number(Tensor self, Tensor other)", node="XlogyBackward2", kernel="xlogy",
                   dtype="promote_float", quiet=True, function=False, method=False,
                   derivatives={"self": _XLOGY_SELF}, rule="d(u*log(s))/du = log(s) (0 where u == 0)")
_FMOD_NUMBER = Op("fmod_number(Tensor self, Tensor other)", node="FmodBackward0", forward="fmod_checked(self, other)",
                  dtype="promote", quiet=True, function=False, method=False, derivatives={"self": "grad"},
                  rule="d(fmod(u, s))/du = 1")
_REMAINDER_NUMBER = Op("remainder_number(Tensor self, Tensor other)", node="RemainderBackward0",
                       forward="remainder_checked(self, other)", dtype="promote", quiet=True, function=False,
                       method=False, derivatives={"self": "grad"}, rule="d(u % s)/du = 1")
_REMAINDER_OF_NUMBER = Op("remainder_of_number(Tensor self, Tensor other)", aten="remainder",
                          forward="remainder_checked(self, other)",
                          dtype="promote", quiet=True, function=False, method=False)
_COPYSIGN_NUMBER = Op("copysign_number(Tensor self, Tensor other)", node="CopysignBackward1",
                      forward="copysign(self, other)", dtype="promote_float", function=False, method=False,
                      derivatives={"self": "grad * where(self == 0, 0.0, result / self)"},
                      rule="d(copysign(u, s))/du = sign(u)*sign(s) (0 where u == 0)")



# -- ops written by hand: their schema here, their forward and backward in ops/<module>.py -------
# (reductions, linear algebra, shape, creation and nn keep hand-written code where no
# elementwise formula fits; the table gives them PyTorch's signatures, out= and the aliases)

def _declared():
    from .. import creation
    from . import activation, linalg, nn, reduce, shape
    from .arith import clamp
    reduction = "(Tensor self, int[1]? dim=None, bool keepdim=False, *, ScalarType? dtype=None)"
    sum_overloads = ("(Tensor input, *, torch.dtype dtype = None)",
                     "(Tensor input, tuple of ints dim, bool keepdim = False, *, torch.dtype dtype = None, "
                     "Tensor out = None)")
    creation_kw = "*, ScalarType? dtype=None, Device? device=None, bool requires_grad=False"
    return [
        Op("sum" + reduction, calls=reduce.sum, overloads=sum_overloads),
        Op("mean" + reduction, calls=reduce.mean, overloads=sum_overloads),
        Op("prod(Tensor self, int? dim=None, bool keepdim=False, *, ScalarType? dtype=None)", calls=reduce.prod),
        Op("max(Tensor self, int? dim=None, bool keepdim=False)", calls=reduce.max, out=False),
        Op("min(Tensor self, int? dim=None, bool keepdim=False)", calls=reduce.min, out=False),
        Op("amax(Tensor self, int[1] dim=(), bool keepdim=False)", calls=reduce.amax),
        Op("amin(Tensor self, int[1] dim=(), bool keepdim=False)", calls=reduce.amin),
        Op("argmax(Tensor self, int? dim=None, bool keepdim=False)", calls=reduce.argmax),
        Op("argmin(Tensor self, int? dim=None, bool keepdim=False)", calls=reduce.argmin),
        Op("std(Tensor self, int[1]? dim=None, bool? unbiased=None, bool keepdim=False, *, Scalar? correction=None)",
           calls=reduce.std),
        Op("var(Tensor self, int[1]? dim=None, bool? unbiased=None, bool keepdim=False, *, Scalar? correction=None)",
           calls=reduce.var),
        Op("logsumexp(Tensor self, int[1] dim, bool keepdim=False)", calls=reduce.logsumexp),
        Op("cumsum(Tensor self, int dim, *, ScalarType? dtype=None)", calls=reduce.cumsum),
        Op("cumprod(Tensor self, int dim, *, ScalarType? dtype=None)", calls=reduce.cumprod),
        Op("mm(Tensor self, Tensor mat2)", calls=linalg.mm),
        Op("matmul(Tensor self, Tensor other)", calls=linalg.matmul),
        Op("bmm(Tensor self, Tensor mat2)", calls=linalg.bmm),
        Op("mv(Tensor self, Tensor vec)", calls=linalg.mv),
        Op("dot(Tensor self, Tensor tensor)", calls=linalg.dot),
        Op("outer(Tensor self, Tensor vec2)", calls=linalg.outer, aliases=("ger",)),
        Op("transpose(Tensor self, int dim0, int dim1)", calls=shape.transpose, out=False,
           aliases=("swapaxes", "swapdims")),
        Op("unsqueeze(Tensor self, int dim)", calls=shape.unsqueeze, out=False),
        Op("squeeze(Tensor self, int[1]? dim=None)", calls=shape.squeeze, out=False),
        Op("flatten(Tensor self, int start_dim=0, int end_dim=-1)", calls=shape.flatten, out=False),
        Op("reshape(Tensor self, int[] shape)", calls=shape.reshape, method=False, out=False),
        Op("cat(Tensor[] tensors, int dim=0)", calls=shape.cat, method=False, aliases=("concat", "concatenate")),
        Op("stack(Tensor[] tensors, int dim=0)", calls=shape.stack, method=False),
        Op("clamp(Tensor self, Scalar? min=None, Scalar? max=None)", inplace_function=True,
           calls=clamp, aliases=("clip",)),
        Op("softmax(Tensor self, int dim=_NO_DIM, ScalarType? dtype=None)", calls=activation.torch_softmax,
           method=False, out=False, env={"_NO_DIM": activation._NO_DIM}),
        Op("log_softmax(Tensor self, int dim=_NO_DIM, ScalarType? dtype=None)", calls=activation.torch_log_softmax,
           method=False, out=False, env={"_NO_DIM": activation._NO_DIM}),
        Op("softmax(Tensor self, int? dim=None, int _stacklevel=3, ScalarType? dtype=None)",
           calls=activation.softmax, function=False, method=False, functional=True),
        Op("log_softmax(Tensor self, int? dim=None, int _stacklevel=3, ScalarType? dtype=None)",
           calls=activation.log_softmax, function=False, method=False, functional=True),
        Op("linear(Tensor self, Tensor weight, Tensor? bias=None)", calls=nn.linear, function=False, method=False,
           functional=True),
    ] + [Op(f"{name}(int[] size, {creation_kw})", calls=getattr(creation, name), method=False)
         for name in ("zeros", "ones", "empty", "rand", "randn")] + [
        Op(f"full(Size size, Scalar fill_value, {creation_kw})", calls=creation.full, method=False),
    ]


OPS = UNARY + [_ROUND_DECIMALS, _TRIGAMMA, SOFTMAX, LOG_SOFTMAX] + BINARY + [_XLOGY_OF_NUMBER, _XLOGY_NUMBER, _FMOD_NUMBER, _REMAINDER_NUMBER,
                                             _REMAINDER_OF_NUMBER, _COPYSIGN_NUMBER]


# -- building and installing ----------------------------------------------------------------------

def _atan2_recip_array(a, b):
    """1 / (a**2 + b**2), taken as 0 where it is infinite: atan2(0, 0) has gradient 0, as in PyTorch."""
    with np.errstate(divide="ignore"):
        r = np.reciprocal(a * a + b * b)
    return np.where(np.isinf(r), r.dtype.type(0), r)


def _atan2_recip_tensor(a, b):
    r = (a * a + b * b).reciprocal()
    return TENSOR_NS["where"](r.isinf(), Tensor._wrap(np.zeros((), r._data.dtype)), r)


def _build():
    from ..creation import zeros_like
    from .arith import where
    from .inplace import inplace
    from .logic import isfinite
    from .piecewise_grads import LeakyReluBackward, Sgn, ThresholdBackward, leaky_relu_backward, sgn
    # The gradients of relu, leaky_relu and abs are ops of their own (their own derivative is
    # zero but, as in PyTorch, a gradient taken under create_graph still requires grad).
    ARRAY_NS.update(sgn=sgn, leaky_relu_backward=leaky_relu_backward, atan2_recip=_atan2_recip_array)
    TENSOR_NS.update(relu_backward=ThresholdBackward.apply, leaky_relu_backward=LeakyReluBackward.apply,
                     sgn=Sgn.apply, atan2_recip=_atan2_recip_tensor)
    TENSOR_NS.update(where=where, isfinite=isfinite, zeros_like=zeros_like,
                     div_floor=lambda a, b: TENSOR_NS["div"](a, b, rounding_mode="floor"),
                     trigamma=lambda a: _TRIGAMMA.fn.apply(a), sum_keep=lambda a, dim: a.sum(dim, keepdim=True))
    return install(ALL_OPS, inplace)


ALL_OPS = OPS + _declared()  # the table's ops and the hand-written ones it declares
FUNCTIONS, FUNCTIONAL = _build()
_opdocs.attach(ALL_OPS, FUNCTIONS, FUNCTIONAL)  # docstrings with examples (ops/_opdocs.py)


def kernels_used() -> dict[str, tuple[str, ...]]:
    """The backend kernels each table op calls (its forward kernel and the fused kernels of its
    derivatives), for a check that the compiled backend implements what the table relies on."""
    used = {}
    for op in OPS:
        names = ([op.kernel] if op.kernel else []) + [call.partition("(")[0] for call in op.fused.values()]
        if names:
            used[op.name] = tuple(names)
    return used


def type_stub() -> str:
    """The table's top-level functions as a type checker should see them (they are generated at
    import, so it cannot).  ``pygrad/_table_api.pyi`` holds this text; a test keeps it current:
    ``python -c "from pygrad.ops.optable import type_stub; print(type_stub(), end='')" > pygrad/_table_api.pyi``."""
    lines = ['"""Type declarations of the op table\'s functions (generated by pygrad.ops.optable.type_stub)."""',
             "from typing import Any", "", "from .tensor import Tensor", ""]
    def result(name):  # a tensor, or (values, indices) with a dim
        return "Any" if name in ("max", "min") else "Tensor"
    for name in sorted(FUNCTIONS):
        lines.append(f"def {name}(*args: Any, **kwargs: Any) -> {result(name)}: ...")
    lines += ["", "class TableMethods:", '    """The methods the table installs on Tensor."""']
    for name in sorted(set(_opdef.METHODS)):
        lines.append(f"    def {name}(self, *args: Any, **kwargs: Any) -> {result(name)}: ...")
    return "\n".join(lines) + "\n"


def functional_type_stub() -> str:
    """The table's ``nn.functional`` entries for type checkers (``pygrad/nn/_table_functional.pyi``,
    kept current by a test):
    ``python -c "from pygrad.ops.optable import functional_type_stub as f; print(f(), end='')"
    > pygrad/nn/_table_functional.pyi``."""
    lines = ['"""Type declarations of the op table\'s nn.functional entries (generated by '
             'pygrad.ops.optable.functional_type_stub)."""', "from typing import Any", "", "from ..tensor import Tensor", ""]
    lines += [f"def {name}(*args: Any, **kwargs: Any) -> Tensor: ..." for name in sorted(FUNCTIONAL)]
    return "\n".join(lines) + "\n"
