"""The op table: each op declared once.

An entry reads like a line of PyTorch's ``native_functions.yaml`` joined to its
``derivatives.yaml`` line:

    Op("sin(Tensor self)", node="SinBackward0", kernel="sin", dtype="float",
       derivatives={"self": "grad * cos(self)"}, fused={"self": "sin_backward(grad, self)"},
       rule="d(sin(u))/du = cos(u)")

The data model (the fields of ``_opdef.Op``; other work reads it, so it stays stable):

- ``schema``: PyTorch's signature.  ``self`` is the first argument (exposed as ``input`` by
  ``pygrad.sin``), ``*`` starts the keyword-only ones; ``out=`` is added unless ``out=False``.
  ``Tensor``/``Tensor?``/``TensorLike`` arguments are the node's inputs (its edges), in order;
  every other argument is an attribute the node keeps (``ctx.<name>``) unless listed in
  ``wrapper_only`` (read by ``impl`` only) or ``forward_only`` (read by the forward only).
- ``node``: the grad_fn name.  ``derivatives``: the gradient of each input, one expression over
  the argument names, ``result``, ``grad`` and the names ``keeps``/``intermediates`` add.  It is
  compiled twice: over ``_opdef.ARRAY_NS`` (NumPy arrays, for a plain ``backward()``) and over
  ``_opdef.TENSOR_NS`` (pygrad's functions, under ``create_graph``), so a helper a derivative
  calls exists in both (``unreduce``, ``expand_to``, ``mm_mat1_backward``...: see the
  ``_*_helpers`` functions below).  The tensors a derivative names are what the node saves
  (``saves`` adds more, as PyTorch saves ``result`` of prod).
- ``kernel`` (the backend kernel computing the forward) or ``forward`` (an expression over the
  arrays, evaluated in ``ARRAY_NS``).  ``fused``: a compiled kernel computing a derivative in one
  pass for plain backward (checked against the expression by tests/test_optable.py).
- ``dtype``: how the forward gets its operands: "float" (integers compute in the default float),
  "same", "promote" (binary promotion), "promote_float" (and integers give the default float),
  "bool", or "tensor" (the forward expression gets the Tensors themselves and casts as it must).
- ``keeps``: name -> expression (over the forward's Tensors, attributes and ``result``) of a
  value the node keeps for the derivatives, such as the input's shape (PyTorch's
  ``self_sym_sizes``).  ``intermediates``: names of values the forward returns after its
  result and the node keeps (layer norm's ``xhat`` and ``rstd``).
- ``rule``: the text ``autograd.explain`` prints (a string, or a function of the node);
  ``elementwise``: whether explain may show the derivative as a number per element.
- ``method``/``inplace``/``function``/``functional``/``aliases``/``operators``: which variants
  exist (``inplace_function``: ``pygrad.<name>_`` too, where PyTorch has it); ``impl(Fn, ...)``
  holds argument handling that does not fit a schema (dtype checks, choosing between the
  nodes of a number and of a tensor operand).  ``calls``: a hand-written
  function the wrappers call (the op's schema and signature only, for ops not built here).

Elementwise ops are declared first; then the ops whose derivative needs more than an
elementwise expression (pow, where, clamp, reductions, matrix products, norms, losses), whose
argument handling stays in their modules (ops/reduce.py, ops/linalg.py, ops/nn.py ...) and
picks the table's node to apply.  Adding an elementwise op is adding an entry here (and its
rows in the test tables).
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from .._backend import kernels as _kernels
from ..tensor import Tensor
from . import _special
from . import _opdef, _opdocs
from ._opdef import ARRAY_NS, TENSOR_NS, Op, install
_wrap = Tensor._wrap
from ._util import _array_of, as_tensor, binary_operands, cumsum_array, expand_array, mean_array, sum_array
from . import arith
from ._util import broadcast_shape
from .arith import (_check_bool_subtraction, _floating_only, _floating_result, bound_is_tensor, check_addcdiv,
                    check_rounding_mode, clamp_args, lerp_args, masked_fill_args, not_both_bool, scaled_operand)
from .inplace import inplace
from .optable_nn import ACTIVATIONS, LOSSES, PADS, SCALAR_OVERLOADS

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


def _inplace_node(kernel: str, name: str):
    """F.elu(x, inplace=True): the result is written into x by PyTorch's in-place node (EluBackward1,
    which differentiates from the result; ops/optable_nn.py)."""
    from .optable_nn import inplace_call

    def impl(Fn, self, inplace=False, **attrs):
        if not self.dtype.is_floating_point:
            raise _not_implemented_for(self, kernel)
        numbers = [float(v) for v in attrs.values()]
        return inplace_call(name, self, *numbers) if inplace else Fn.apply(self, *numbers)
    return impl


# -- the table ----------------------------------------------------------------------------------

UNARY = [
    Op("exp(Tensor self)", inplace_function=True, node="ExpBackward0", kernel="exp", dtype="float", inplace=True,
       derivatives={"self": "grad * result"}, fused={"self": "exp_backward(grad, result)"},
       rule="d(exp(u))/du = exp(u)"),
    Op("log(Tensor self)", inplace_function=True,
       node="LogBackward0", kernel="log", dtype="float", inplace=True,
       derivatives={"self": "grad / self"}, fused={"self": "log_backward(grad, self)"},
       rule="d(log(u))/du = 1/u"),
    Op("sqrt(Tensor self)", inplace_function=True,
       node="SqrtBackward0", kernel="sqrt", dtype="float", inplace=True,
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
       node="ReciprocalBackward0", kernel="reciprocal", dtype="float",
       derivatives={"self": "grad * -(result * result)"}, fused={"self": "reciprocal_backward(grad, result)"},
       rule="d(1/u)/du = -1/u**2"),
    Op("rsqrt(Tensor self)", inplace=True, inplace_function=True,
       node="RsqrtBackward0", kernel="rsqrt", dtype="float",
       derivatives={"self": "grad * (-0.5 * result * result * result)"},
       rule="d(u**-0.5)/du = -0.5*u**-1.5"),
    Op("log1p(Tensor self)", inplace=True, inplace_function=True,
       node="Log1PBackward0", kernel="log1p", dtype="float",
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
       node="Exp2Backward0", kernel="exp2", dtype="float",
       derivatives={"self": f"grad * (result * {_LN2})"}, rule="d(2**u)/du = 2**u * log(2)"),
    Op("log2(Tensor self)", inplace=True, inplace_function=True,
       node="Log2Backward0", kernel="log2", dtype="float",
       derivatives={"self": f"grad / (self * {_LN2})"}, rule="d(log2(u))/du = 1/(u * log(2))"),
    Op("log10(Tensor self)", inplace=True, inplace_function=True,
       node="Log10Backward0", kernel="log10", dtype="float",
       derivatives={"self": f"grad / (self * {_LN10})"}, rule="d(log10(u))/du = 1/(u * log(10))"),
    Op("sinh(Tensor self)", inplace=True, inplace_function=True,
       node="SinhBackward0", kernel="sinh", dtype="float",
       derivatives={"self": "grad * cosh(self)"}, rule="d(sinh(u))/du = cosh(u)"),
    Op("cosh(Tensor self)", inplace=True, inplace_function=True,
       node="CoshBackward0", kernel="cosh", dtype="float",
       derivatives={"self": "grad * sinh(self)"}, rule="d(cosh(u))/du = sinh(u)"),
    Op("asin(Tensor self)", inplace=True, inplace_function=True,
       node="AsinBackward0", kernel="asin", dtype="float", aliases=("arcsin",),
       derivatives={"self": "grad * rsqrt(1 - self * self)"}, rule="d(asin(u))/du = 1/sqrt(1 - u**2)"),
    Op("acos(Tensor self)", inplace=True, inplace_function=True,
       node="AcosBackward0", kernel="acos", dtype="float", aliases=("arccos",),
       derivatives={"self": "grad * -rsqrt(1 - self * self)"}, rule="d(acos(u))/du = -1/sqrt(1 - u**2)"),
    Op("asinh(Tensor self)", inplace=True, inplace_function=True,
       node="AsinhBackward0", kernel="asinh", dtype="float",
       aliases=("arcsinh",), derivatives={"self": "grad * rsqrt(self * self + 1)"},
       rule="d(asinh(u))/du = 1/sqrt(u**2 + 1)"),
    Op("acosh(Tensor self)", inplace=True, inplace_function=True,
       node="AcoshBackward0", kernel="acosh", dtype="float",
       aliases=("arccosh",), derivatives={"self": "grad * rsqrt(self * self - 1)"},
       rule="d(acosh(u))/du = 1/sqrt(u**2 - 1)"),
    Op("atanh(Tensor self)", inplace=True, inplace_function=True,
       node="AtanhBackward0", kernel="atanh", dtype="float",
       aliases=("arctanh",), derivatives={"self": "grad / (1 - self * self)"},
       rule="d(atanh(u))/du = 1/(1 - u**2)"),
    Op("erfinv(Tensor self)", inplace=True, node="ErfinvBackward0", kernel="erfinv", dtype="float",
       derivatives={"self": "grad * (0.886226925452758 * exp(square(erfinv(self))))"},  # saves self, as PyTorch
       rule="d(erfinv(u))/du = sqrt(pi)/2 * exp(erfinv(u)**2)"),
    Op("nan_to_num(Tensor self, float? nan=0.0, float? posinf=None, float? neginf=None)", inplace_function=True,
       node="NanToNumBackward0", kernel="nan_to_num", inplace=True, impl=_nan_to_num,
       derivatives={"self": "where(isfinite(self), grad, 0.0)"},
       rule="d(nan_to_num(u))/du = 1 where u is finite, else 0"),
    Op("sign(Tensor self)", inplace=True, node="SignBackward0", kernel="sign", impl=_sign,
       derivatives={"self": "zeros_like(grad)"}, rule=_ZERO),
    Op("sgn(Tensor self)", inplace=True, node="SgnBackward0", kernel="sign", impl=_sign,
       saves=("self", "result"),  # what PyTorch's node keeps (its formula covers complex inputs)
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
       dtype="float", inplace=True,
       derivatives={"self": "grad * where(self == 0, 0.0, (cos(pi * self) * pi * self - sin(pi * self))"
                            " / (pi * self * self))"},
       rule="d(sin(pi*u)/(pi*u))/du = (cos(pi*u)*pi*u - sin(pi*u)) / (pi*u**2), 0 at u = 0"),
    Op("logit(Tensor self, float? eps=None)", inplace_function=True,
       node="LogitBackward0", dtype="float", inplace=True,
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
       impl=_inplace_node("leaky_relu_cpu", "leaky_relu"),
       derivatives={"self": "leaky_relu_backward(grad, self, negative_slope)"},
       rule="d(leaky_relu(u))/du = 1 where u > 0, else negative_slope"),
    Op("elu(Tensor self, float alpha=1.0, bool inplace=False)", node="EluBackward0", kernel="elu",
       function=False, method=False, functional=True, impl=_inplace_node("elu_cpu", "elu"),
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
SOFTMAX = Op("_softmax(Tensor self, int? dim)", node="SoftmaxBackward0", kernel="softmax",
             function=False, method=False, derivatives={"self": "result * (grad - sum_keep(grad * result, dim))"},
             jvp="result * (self_t - sum_keep(self_t * result, dim))",
             rule="d softmax: grad_u = s * (grad - sum(grad * s)), s = softmax(u)")
LOG_SOFTMAX = Op("_log_softmax(Tensor self, int? dim)", node="LogSoftmaxBackward0", kernel="log_softmax",
                 function=False, method=False,
                 derivatives={"self": "grad - exp(result) * sum_keep(grad, dim)"},
                 jvp="self_t - sum_keep(exp(result) * self_t, dim)",
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
    return DIV_ROUNDING.fn.apply(a, b, rounding_mode)


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
                div_floor=np.floor_divide, sum_keep=lambda a, dim: np.add.reduce(a, axis=dim, keepdims=True),
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
       node="HypotBackward0", kernel="hypot", dtype="promote",
       impl=_floating_pair("hypot"), derivatives={"self": "grad * self / result", "other": "grad * other / result"},
       rule="d(hypot(u, v))/du = u/hypot(u, v),  d/dv = v/hypot(u, v)"),
    Op("logaddexp(Tensor self, Tensor other)", node="LogaddexpBackward0", kernel="logaddexp", dtype="promote",
       impl=_floating_pair("logaddexp"),
       derivatives={"self": "grad / (1 + exp(other - self))", "other": "grad / (1 + exp(self - other))"},
       rule="d(log(exp(u) + exp(v)))/du = 1/(1 + exp(v - u)),  d/dv = 1/(1 + exp(u - v))"),
    Op("logaddexp2(Tensor self, Tensor other)", node="Logaddexp2Backward0", forward="logaddexp2(self, other)",
       dtype="promote", impl=_floating_pair("logaddexp2"),
       derivatives={"self": "grad / (1 + exp2(other - self))", "other": "grad / (1 + exp2(self - other))"},
       rule="d(log2(2**u + 2**v))/du = 1/(1 + 2**(v - u)),  d/dv = 1/(1 + 2**(u - v))"),
    Op("xlogy(TensorLike self, TensorLike other)", inplace=True, inplace_function=True,
       node="XlogyBackward0", kernel="xlogy", dtype="promote_float",
       impl=_xlogy, derivatives={"self": _XLOGY_SELF, "other": _XLOGY_OTHER},
       rule="d(u*log(v))/du = log(v) (0 where u == 0),  d/dv = u/v"),
    Op("atan2(Tensor self, Tensor other)", inplace=True, node="Atan2Backward0", forward="arctan2(self, other)",
       dtype="promote_float", aliases=("arctan2",),
       derivatives={"self": f"{_ATAN2_SHARE} * other", "other": f"-({_ATAN2_SHARE}) * self"},
       rule="d atan2(a, b) = (b*da - a*db) / (a**2 + b**2)"),
    Op("fmod(Tensor self, TensorLike other)", inplace=True, node="FmodBackward1", forward="fmod_checked(self, other)",
       dtype="promote", impl=_fmod,
       derivatives={"self": "grad", "other": "-grad * trunc(self / other)"},
       rule="d(fmod(u, v))/du = 1,  d(fmod(u, v))/dv = -trunc(u / v)"),
    Op("remainder(TensorLike self, TensorLike other)", inplace=True, node="RemainderBackward1",
       forward="remainder_checked(self, other)", dtype="promote", impl=_remainder,
       operators=("__mod__=method",), derivatives={"self": "grad", "other": "-grad * div_floor(self, other)"},
       rule="d(u % v)/du = 1,  d(u % v)/dv = -floor(u / v)"),
    Op("floor_divide(Tensor self, TensorLike other)", inplace=True,
       forward="floor_divide_checked(self, other)", dtype="promote",
       impl=_floor_divide, operators=("__floordiv__=method",)),
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
                      dtype="promote_float", function=False, method=False,
                      derivatives={"other": _XLOGY_OTHER}, rule="d(s*log(v))/dv = s/v")
_XLOGY_NUMBER = Op("xlogy_number(Tensor self, Tensor other)", node="XlogyBackward2", kernel="xlogy",
                   dtype="promote_float", function=False, method=False,
                   derivatives={"self": _XLOGY_SELF}, rule="d(u*log(s))/du = log(s) (0 where u == 0)")
_FMOD_NUMBER = Op("fmod_number(Tensor self, Tensor other)", node="FmodBackward0", forward="fmod_checked(self, other)",
                  dtype="promote", function=False, method=False, derivatives={"self": "grad"},
                  rule="d(fmod(u, s))/du = 1")
_REMAINDER_NUMBER = Op("remainder_number(Tensor self, Tensor other)", node="RemainderBackward0",
                       forward="remainder_checked(self, other)", dtype="promote", function=False,
                       method=False, derivatives={"self": "grad"}, rule="d(u % s)/du = 1")
_REMAINDER_OF_NUMBER = Op("remainder_of_number(Tensor self, Tensor other)", aten="remainder",
                          forward="remainder_checked(self, other)",
                          dtype="promote", function=False, method=False)
_COPYSIGN_NUMBER = Op("copysign_number(Tensor self, Tensor other)", node="CopysignBackward1",
                      forward="copysign(self, other)", dtype="promote_float", function=False, method=False,
                      derivatives={"self": "grad * where(self == 0, 0.0, result / self)"},
                      rule="d(copysign(u, s))/du = sign(u)*sign(s) (0 where u == 0)")



# -- pow, where, masked_fill, clamp, lerp, addcmul/addcdiv, div with rounding --------------------
# Several nodes per op, as in PyTorch (a number or a tensor operand); the public function picks one.

def _node(schema: str, elementwise: bool = False, **fields) -> Op:
    """A node of the table that has no function or method of its own: the argument handling of
    a public function picks one of several (a number or a tensor operand) and applies it."""
    return Op(schema, function=False, method=False, elementwise=elementwise, **fields)


def _num(value) -> str:
    """A number as a person writes it: 2 rather than 2.0."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _pow_rule(node) -> str:
    p = float(node.exponent)
    if p in (0, 1, 2):
        return ("d(u**0)/du = 0", "d(u**1)/du = 1", "d(u**2)/du = 2*u")[int(p)]
    return f"d(u**{_num(p)})/du = {_num(p)}*u**{_num(p - 1)}"


def _rpow_rule(node) -> str:
    base = _num(node.base)
    return f"d({base}**u)/du = {base}**u * log({base})"


POW_NUMBER = _node("_pow_number(Tensor self, Scalar exponent)", node="PowBackward0", aten="pow", elementwise=True,
                   forward="pow_number(self, exponent)", dtype="tensor", rule=_pow_rule,
                   derivatives={"self": "grad * 0 if exponent == 0 else grad * (exponent * self ** (exponent - 1))"},
                   fused={"self": "pow_backward(grad, self, asarray(exponent, grad.dtype))"})
POW_TENSOR = _node("_pow_tensor(Tensor self, Tensor exponent)", node="PowBackward1", aten="pow", elementwise=True,
                   kernel="pow", dtype="promote",
                   derivatives={"self": "where(exponent == 0, 0.0, grad * (exponent * self ** (exponent - 1)))",
                                "exponent": "where((self == 0) & (exponent >= 0), 0.0, grad * (result * log(self)))"},
                   fused={"self": "pow_backward(grad, self, exponent)",
                          "exponent": "pow_backward_exponent(grad, result, self, exponent)"},
                   rule="d(u**v)/du = v*u**(v-1),  d(u**v)/dv = u**v * log(u)")
NUMBER_POW = _node("_number_pow(Tensor exponent, Scalar base)", node="PowBackward2", aten="pow", elementwise=True,
                   forward="number_pow(exponent, base)", dtype="tensor", rule=_rpow_rule,
                   derivatives={"exponent": "where(exponent >= 0, 0.0, grad * (result * -inf)) if base == 0 else"
                                            " grad * (result * log_of_number(base))"},
                   fused={"exponent": "pow_backward_exponent(grad, result, asarray(base, grad.dtype), exponent)"})


def _pow(Fn, self, exponent):
    if not isinstance(self, Tensor):
        return _number_pow(exponent, self)
    if isinstance(exponent, (Tensor, np.ndarray)):
        return POW_TENSOR.fn.apply(*not_both_bool("pow", *binary_operands(self, exponent)))
    return POW_NUMBER.fn.apply(self, exponent)


def _number_pow(x: Tensor, base) -> Tensor:
    """``base ** x``."""
    if isinstance(base, (Tensor, np.ndarray)):
        return POW_TENSOR.fn.apply(*not_both_bool("pow", *binary_operands(base, x)))
    return NUMBER_POW.fn.apply(x, base)


# ``condition`` and ``mask`` are arrays: like PyTorch's, the nodes have edges for the tensors only.
WHERE = _node("_where(Tensor self, Tensor other, Any condition)", node="WhereBackward0", aten="where", elementwise=True,
              forward="where(condition, self, other)", dtype="promote",
              derivatives={"self": "where(condition, grad, 0.0)", "other": "where(condition, 0.0, grad)"},
              rule="d(where(cond, u, v))/du = 1 where cond else 0,  d/dv = 1 where not cond")


def where(condition, input, other) -> Tensor:  # noqa: A002 - PyTorch's names
    condition = as_tensor(condition)
    if condition.dtype is not dtypes.bool:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with "
                           f"dtype {condition.dtype.name.capitalize()}")
    a, b = binary_operands(input, other)
    broadcast_shape(broadcast_shape(condition._data.shape, a._data.shape), b._data.shape)  # PyTorch's order
    return WHERE.fn.apply(a, b, condition._data)


MASKED_FILL = _node("_masked_fill(Tensor self, Any mask, Scalar value)", node="MaskedFillBackward0",
                    aten="masked_fill", elementwise=True, forward="masked_fill_forward(self, mask, value)",
                    dtype="tensor", derivatives={"self": "masked_zero(grad, mask)"},
                    rule="u.masked_fill(mask, s): the gradient passes where the mask is false, 0 elsewhere")
MASKED_FILL_TENSOR = _node("_masked_fill_tensor(Tensor self, Tensor value, Any mask)", node="MaskedFillBackward1",
                           aten="masked_fill", forward="masked_fill_forward(self, mask, value)", dtype="tensor",
                           jvp="masked_zero(self_t, mask) + where(mask, value_t, 0.0)",
                           derivatives={"self": "masked_zero(grad, mask)", "value": "masked_sum(grad, mask)"},
                           rule="u.masked_fill(mask, v): u gets the gradient where the mask is false, "
                                "v the sum of it where the mask is true")


def gradient_where(g: Tensor, keep: np.ndarray) -> Tensor:
    """``g`` where ``keep``, exact zeros elsewhere, as PyTorch's backward formulas select a gradient
    (a product with a 0/1 mask would let a NaN or inf of ``g`` through); differentiable."""
    return MASKED_FILL.fn.apply(g, ~keep, 0.0)


def _masked_fill_op(x: Tensor, mask, value) -> tuple:
    """The masked_fill node and its arguments, checked as PyTorch does."""
    tensor_value, mask, value = masked_fill_args(x, mask, value)
    if tensor_value:
        return MASKED_FILL_TENSOR.fn, (value, mask)
    return MASKED_FILL.fn, (mask, value)


def _masked_fill(Fn, self, mask, value):
    fn, args = _masked_fill_op(self, mask, value)
    broadcast_shape(np.shape(mask._data if isinstance(mask, Tensor) else mask), self._data.shape)
    return fn.apply(self, *args)


def _masked_fill_(self, mask, value):
    fn, args = _masked_fill_op(self, mask, value)
    return inplace(fn, self, *args, read=(mask,))  # a tensor value is used as a number


def _clamp_op(schema: str, node: str, rule: str) -> Op:
    """A clamp node of number bounds: the gradient passes where min <= x <= max."""
    return _node(schema, node=node, rule=rule, aten="clamp", elementwise=True, forward="clamp_numbers(self, min, max)",
                 dtype="tensor", derivatives={"self": "clamp_grad(grad, self, min, max)"})


def _clamp_tensor_op(schema: str, node: str, rule: str) -> Op:
    """A clamp node with tensor bounds: x's gradient passes inside, a bound's where it bites."""
    return _node(schema, node=node, rule=rule, aten="clamp", elementwise=True, forward="clamp_tensors(self, min, max)",
                 dtype="tensor", derivatives={"self": "grad * clamp_masks(self, min, max, grad)[0]",
                                              "min": "grad * clamp_masks(self, min, max, grad)[1]",
                                              "max": "grad * clamp_masks(self, min, max, grad)[2]"})


CLAMP = _clamp_op("_clamp(Tensor self, Scalar? min, Scalar? max)", "ClampBackward1",
                  "d(clamp(u, lo, hi))/du = 1 where lo <= u <= hi, else 0")
CLAMP_MIN = _clamp_op("_clamp_min(Tensor self, Scalar? min, Scalar? max)", "ClampMinBackward0",
                      "d(clamp_min(u, lo))/du = 1 where u >= lo, else 0")
CLAMP_MAX = _clamp_op("_clamp_max(Tensor self, Scalar? min, Scalar? max)", "ClampMaxBackward0",
                      "d(clamp_max(u, hi))/du = 1 where u <= hi, else 0")
CLAMP_TENSOR = _clamp_tensor_op("_clamp_tensor(Tensor self, Tensor? min, Tensor? max)", "ClampBackward0",
                                "d(clamp(u, lo, hi)): u gets 1 between the bounds, a bound 1 where it bites")
CLAMP_MIN_TENSOR = _clamp_tensor_op("_clamp_min_tensor(Tensor self, Tensor? min, Tensor? max)", "ClampMinBackward1",
                                    "d(clamp_min(u, lo)): u gets 1 where u >= lo, lo gets 1 where u < lo")
CLAMP_MAX_TENSOR = _clamp_tensor_op("_clamp_max_tensor(Tensor self, Tensor? min, Tensor? max)", "ClampMaxBackward1",
                                    "d(clamp_max(u, hi)): u gets 1 where u <= hi, hi gets 1 where u > hi")


def _clamp_fn(x: Tensor, min, max):  # noqa: A002 - PyTorch's names
    tensors, bounds = clamp_args(x, min, max)
    return (CLAMP_TENSOR if tensors else CLAMP).fn, bounds


def clamp(x: Tensor, min=None, max=None) -> Tensor:  # noqa: A002
    """min(max(x, min), max); the gradient passes where min <= x <= max."""
    fn, bounds = _clamp_fn(x, min, max)
    return fn.apply(x, *bounds)


def _clamp_(self, min=None, max=None):  # noqa: A002
    fn, bounds = _clamp_fn(self, min, max)
    return inplace(fn, self, *bounds)


def _clamp_min(Fn, self, min):  # noqa: A002
    return (CLAMP_MIN_TENSOR if bound_is_tensor(min) else CLAMP_MIN).fn.apply(self, min, None)


def _clamp_max(Fn, self, max):  # noqa: A002
    return (CLAMP_MAX_TENSOR if bound_is_tensor(max) else CLAMP_MAX).fn.apply(self, None, max)


def _clamp_min_(self, min):  # noqa: A002
    return inplace((CLAMP_MIN_TENSOR if isinstance(min, Tensor) else CLAMP_MIN).fn, self, min, None)


def _clamp_max_(self, max):  # noqa: A002
    return inplace((CLAMP_MAX_TENSOR if isinstance(max, Tensor) else CLAMP_MAX).fn, self, None, max)


LERP = _node("_lerp(Tensor self, Tensor end, Scalar weight)", node="LerpBackward0", aten="lerp", elementwise=True,
             forward="lerp(self, end, asarray(weight, self.dtype))", dtype="promote",
             derivatives={"self": "grad * (1 - weight)", "end": "grad * weight"},
             rule="d(u + w*(v - u)): grad_u = 1 - w,  grad_v = w")
LERP_TENSOR = _node("_lerp_tensor(Tensor self, Tensor end, Tensor weight)", node="LerpBackward1", aten="lerp",
                    elementwise=True, forward="lerp_tensor_weight(self, end, weight)", dtype="tensor",
                    derivatives={"self": "grad * (1 - weight)", "end": "grad * weight",
                                 "weight": "grad * (end - self)"},
                    rule="d(u + w*(v - u)): grad_u = 1 - w,  grad_v = w,  grad_w = v - u")


def _lerp(Fn, self, end, weight):
    """``input + weight * (end - input)``."""
    return (LERP_TENSOR if lerp_args(self, end, weight) else LERP).fn.apply(self, end, weight)


def _lerp_(self, end, weight):
    return inplace((LERP_TENSOR if lerp_args(self, end, weight) else LERP).fn, self, end, weight)


def _addcdiv(Fn, self, tensor1, tensor2, value=1):
    check_addcdiv(tensor1, tensor2)
    return Fn.apply(self, tensor1, tensor2, value)


ADDCMUL = Op("addcmul(Tensor self, Tensor tensor1, Tensor tensor2, *, Scalar value=1)", node="AddcmulBackward0",
             forward="addcmul_forward(self, tensor1, tensor2, value)", dtype="tensor", inplace=True, elementwise=False,
             jvp="auto_element_wise",
             derivatives={"self": "grad", "tensor1": "grad * tensor2 * value", "tensor2": "grad * tensor1 * value"},
             rule="d (x + v*t1*t2): grad_x = grad, grad_t1 = grad*v*t2, grad_t2 = grad*v*t1")
ADDCDIV = Op("addcdiv(Tensor self, Tensor tensor1, Tensor tensor2, *, Scalar value=1)", node="AddcdivBackward0",
             forward="addcdiv_forward(self, tensor1, tensor2, value)", dtype="tensor", inplace=True, elementwise=False,
             jvp="auto_element_wise",
             impl=_addcdiv, derivatives={"self": "grad", "tensor1": "grad * value / tensor2",
                                         "tensor2": "-grad * value * tensor1 / (tensor2 * tensor2)"},
             rule="d (x + v*t1/t2): grad_x = grad, grad_t1 = grad*v/t2, grad_t2 = -grad*v*t1/t2**2")
DIV_ROUNDING = _node("_div_rounding(Tensor self, Tensor other, str rounding_mode)", node="DivBackward2", aten="div",
                     jvp="auto_element_wise",
                     forward="div_rounding(self, other, rounding_mode)", dtype="tensor",
                     derivatives={"self": "zeros_like(grad)", "other": "zeros_like(grad)"},
                     rule="div(u, v, rounding_mode=...) is a step function: its gradient is 0")


def _typed(bound, dtype):
    return None if bound is None else dtype.type(bound)


def _data(t):
    return None if t is None else t._data


def _clamp_grad_tensor(g, x, lo, hi):
    dt = g._data.dtype
    keep = _kernels.clamp_backward(np.ones((), dt), x._data.astype(dt, copy=False), _typed(lo, dt), _typed(hi, dt))
    return gradient_where(g, keep != 0)


def _clamp_masks_tensor(x, lo, hi, g):
    return tuple(None if m is None else _wrap(m)
                 for m in arith.clamp_masks(x._data, _data(lo), _data(hi), g._data.dtype))


# The helpers these entries' derivatives call, on arrays (plain backward) and on Tensors (create_graph).
ARRAY_NS.update(
    pow_number=arith.pow_number, number_pow=arith.number_pow, clamp_numbers=arith.clamp_numbers,
    clamp_tensors=arith.clamp_tensors, masked_fill_forward=arith.masked_fill_forward,
    lerp_tensor_weight=arith.lerp_tensor_weight, addcmul_forward=arith.addcmul_forward,
    addcdiv_forward=arith.addcdiv_forward, div_rounding=arith.div_rounding, inf=math.inf,
    log_of_number=lambda b: float(np.log(b)),
    masked_zero=lambda g, mask: np.where(mask, g.dtype.type(0), g),
    masked_sum=lambda g, mask: sum_array(g[np.broadcast_to(mask, g.shape)]),
    clamp_grad=lambda g, x, lo, hi: _kernels.clamp_backward(g, x, _typed(lo, g.dtype), _typed(hi, g.dtype)),
    clamp_masks=lambda x, lo, hi, g: arith.clamp_masks(x, lo, hi, g.dtype))
TENSOR_NS.update(
    inf=math.inf, log_of_number=lambda b: float(np.log(b)),
    masked_zero=lambda g, mask: MASKED_FILL.fn.apply(g, mask, 0.0),
    masked_sum=lambda g, mask: (g * _wrap(np.broadcast_to(mask, g.shape).astype(g._data.dtype))).sum(),
    clamp_grad=_clamp_grad_tensor, clamp_masks=_clamp_masks_tensor)

ARITH = [POW_NUMBER, POW_TENSOR, NUMBER_POW, WHERE, MASKED_FILL, MASKED_FILL_TENSOR, CLAMP, CLAMP_MIN, CLAMP_MAX,
         CLAMP_TENSOR, CLAMP_MIN_TENSOR, CLAMP_MAX_TENSOR, LERP, LERP_TENSOR, ADDCMUL, ADDCDIV, DIV_ROUNDING,
         Op("pow(TensorLike self, TensorLike exponent)", impl=_pow),
         Op("masked_fill(Tensor self, Tensor mask, TensorLike value)", function=True, impl=_masked_fill, out=False),
         Op("clamp_min(Tensor self, TensorLike min)", impl=_clamp_min, inplace_function=True),
         Op("clamp_max(Tensor self, TensorLike max)", impl=_clamp_max, inplace_function=True),
         Op("lerp(Tensor self, Tensor end, TensorLike weight)", impl=_lerp)]


# -- reductions ------------------------------------------------------------------------------
# ``dims`` is a normalized tuple; ``unreduce`` puts the reduced dims back as size 1 (a no-op with
# keepdim); ``shape`` is the input's shape (PyTorch's ``self_sym_sizes``).  The argument
# handling (dims, dtypes, errors) is in ops/reduce.py.

_SHAPE = {"shape": "sizes(self)"}
SUM = _node("_sum(Tensor self, Any dtype)", jvp="auto_linear", node="SumBackward0", aten="sum",
            forward="sum_array(self, None, False, dtype)", forward_only=("dtype",), keeps=_SHAPE,
            derivatives={"self": "expand_to(grad, shape)"},
            rule="d(sum(u))/du[i] = 1: each element gets the gradient")
SUM_DIM = _node("_sum_dim(Tensor self, int[] dims, bool keepdim, Any dtype)", jvp="auto_linear", node="SumBackward1", aten="sum",
                forward="sum_array(self, dims, keepdim, dtype)", forward_only=("dtype",), keeps=_SHAPE,
                derivatives={"self": "expand_to(unreduce(grad, shape, dims, keepdim), shape)"},
                rule="d(u.sum(dim))/du = 1: the gradient is copied along the summed dims")
MEAN = _node("_mean(Tensor self, Any dtype)", jvp="auto_linear", node="MeanBackward0", aten="mean",
             forward="mean_array(self, None, False, dtype)", forward_only=("dtype",), keeps=_SHAPE,
             derivatives={"self": "expand_to(grad / count(shape, tuple(range(len(shape)))), shape)"},
             rule="d(mean(u))/du[i] = 1/n, n = number of elements of u")
MEAN_DIM = _node("_mean_dim(Tensor self, int[] dims, bool keepdim, Any dtype)", jvp="auto_linear", node="MeanBackward1", aten="mean",
                 forward="mean_array(self, dims, keepdim, dtype)", forward_only=("dtype",), keeps=_SHAPE,
                 derivatives={"self": "expand_to(unreduce(grad, shape, dims, keepdim) / count(shape, dims), shape)"},
                 rule="d(u.mean(dim))/du = 1/n along the averaged dims, n = their size")


def _extreme(name: str, node: str, reduce: str, rule: str) -> Op:
    """max/min/amax/amin over dims: the gradient is shared evenly among the tied extremes (a NaN
    extreme ties with the NaNs for max/min only, as in PyTorch)."""
    nan_ties = name in ("max", "min")
    return _node(f"_{name}(Tensor self, int[] dims, bool keepdim)", node=node, aten=name,
                 forward=f"extreme({reduce}, self, dims, keepdim)",
                 derivatives={"self": f"evenly_distributed(grad, self, result, dims, keepdim, {nan_ties})"}, rule=rule,
                 jvp="weighted")


MAX = _extreme("max", "MaxBackward1", "np_max", "d(max(u))/du = 1 at the maximum (shared evenly among ties), else 0")
MIN = _extreme("min", "MinBackward1", "np_min", "d(min(u))/du = 1 at the minimum (shared evenly among ties), else 0")
AMAX = _extreme("amax", "AmaxBackward0", "np_max", "d(u.amax(dim)): shared evenly among the tied maxima, 0 elsewhere")
AMIN = _extreme("amin", "AminBackward0", "np_min", "d(u.amin(dim)): shared evenly among the tied minima, 0 elsewhere")
# Each gradient is the product of the *other* elements, which stays exact with zeros.  PyTorch
# saves the result too: changing it in place before backward is an error.
_PROD = dict(forward="prod(self, axis=dims, keepdims=keepdim, dtype=dtype)", forward_only=("dtype",),
             saves=("result",), derivatives={"self": "prod_grad(grad, self, dims, keepdim)"})
PROD = _node("_prod(Tensor self, int[] dims, bool keepdim, Any dtype)", jvp="weighted", node="ProdBackward0", aten="prod",
             rule="d(prod(u))/du[i] = the product of the other elements", **_PROD)
PROD_DIM = _node("_prod_dim(Tensor self, int[] dims, bool keepdim, Any dtype)", jvp="weighted", node="ProdBackward1", aten="prod",
                 rule="d(u.prod(dim))/du[i] = the product of the other elements along dim", **_PROD)
_VARIANCE = {"shape": "sizes(self)", "denominator": "denominator(self, dims, correction)"}
_CENTERED = "(self - mean_keep(self, dims))"
VAR = _node("_var(Tensor self, int[] dims, float correction, bool keepdim)", jvp="weighted", node="VarBackward0", aten="var",
            forward="variance(self, dims, correction, keepdim)", keeps=_VARIANCE,
            # A 0-d input with nothing left after the correction: nan, a constant (x is its own mean), as PyTorch.
            derivatives={"self": "grad * nan if not denominator and not shape else"
                                 f" unreduce(grad, shape, dims, keepdim) * ratio(2, denominator) * {_CENTERED}"},
            rule="d(var(u))/du = 2*(u - mean(u)) / (n - correction)")
STD = _node("_std(Tensor self, int[] dims, float correction, bool keepdim)", jvp="weighted", node="StdBackward0", aten="std",
            forward="sqrt(variance(self, dims, correction, keepdim))", keeps=_VARIANCE,
            derivatives={"self": "where(unreduce(result, shape, dims, keepdim) == 0, 0.0,"
                                 f" unreduce(grad, shape, dims, keepdim) * {_CENTERED}"
                                 " / (unreduce(result, shape, dims, keepdim) * denominator))"},
            rule="d(std(u))/du = (u - mean(u)) / ((n - correction) * std(u))")
LOGSUMEXP = _node("_logsumexp(Tensor self, int[] dims, bool keepdim)", jvp="weighted", node="LogsumexpBackward0", aten="logsumexp",
                  forward="logsumexp_forward(self, dims, keepdim)", keeps=_SHAPE,
                  derivatives={"self": "unreduce(grad, shape, dims, keepdim)"
                                       " * exp(self - unreduce(result, shape, dims, keepdim))"},
                  rule="d(logsumexp(u))/du = exp(u - logsumexp(u)) = softmax(u)")
CUMSUM = _node("_cumsum(Tensor self, int dim, Any dtype)", jvp="auto_linear", node="CumsumBackward0", aten="cumsum",
               forward="cumsum_forward(self, dim, dtype)", forward_only=("dtype",),
               derivatives={"self": "reverse_cumsum(grad, dim)"},
               rule="d(cumsum(u)): u[i] gets the sum of the gradients of outputs i, i+1, ...")
CUMPROD = _node("_cumprod(Tensor self, int dim, Any dtype)", node="CumprodBackward0", aten="cumprod",
                jvp="cumprod_tangent(self_t, self, result, dim)",
                forward="cumprod_forward(self, dim, dtype)", forward_only=("dtype",), saves=("result",),
                derivatives={"self": "cumprod_grad(grad, self, dim)"},
                rule="d cumprod(u)_j/du_i = prod_{k<=j, k!=i} u_k for j >= i (= out_j/u_i without zeros)")
_NORM = dict(forward="vector_norm_forward(self, p, dims, keepdim)",
             derivatives={"self": "norm_grad(grad, self, result, p, dims, keepdim)"})
VECTOR_NORM = _node("_vector_norm(Tensor self, float p, int[] dims, bool keepdim)", jvp="weighted", node="LinalgVectorNormBackward0",
                    aten="linalg_vector_norm", rule="d(||u||_p)/du = sign(u)*|u|**(p-1) / ||u||_p**(p-1)", **_NORM)
DIST = _node("_dist(Tensor self, float p, int[] dims, bool keepdim)", jvp="weighted", node="DistBackward0", aten="dist",
             rule="d(||u - v||_p)/du = sign(u-v)*|u-v|**(p-1) / ||u - v||_p**(p-1)", **_NORM)

REDUCTIONS = [SUM, SUM_DIM, MEAN, MEAN_DIM, MAX, MIN, AMAX, AMIN, PROD, PROD_DIM, VAR, STD, LOGSUMEXP, CUMSUM, CUMPROD,
              VECTOR_NORM, DIST]


# -- matrix products (the checks and matmul's decomposition are in ops/linalg.py) -------------
# mm's gradients are made in the memory layout of the operand they are for (see linalg.py).

MM = _node("_mm(Tensor self, Tensor mat2)", jvp="multilinear", node="MmBackward0", aten="mm", forward="matmul(self, mat2)",
           keeps={"transposed": "transposed_layouts(self, mat2)"},
           derivatives={"self": "mm_mat1_backward(grad, mat2, transposed[0])",
                        "mat2": "mm_mat2_backward(grad, self, transposed[1])"},
           rule="d(A @ B): grad_A = grad @ B.T,  grad_B = A.T @ grad")
MV = _node("_mv(Tensor self, Tensor vec)", jvp="multilinear", node="MvBackward0", aten="mv", forward="matmul(self, vec)",
           derivatives={"self": "outer(grad, vec)", "vec": "mv(t(self), grad)"},
           rule="d(M @ v): grad_M = outer(grad, v),  grad_v = M.T @ grad")
DOT = _node("_dot(Tensor self, Tensor tensor)", jvp="multilinear", node="DotBackward0", aten="dot", forward="asarray(dot(self, tensor))",
            derivatives={"self": "grad * tensor", "tensor": "grad * self"},
            rule="d(u . v)/du = v,  d(u . v)/dv = u")
BMM = _node("_bmm(Tensor self, Tensor mat2)", jvp="multilinear", node="BmmBackward0", aten="bmm", forward="matmul(self, mat2)",
            derivatives={"self": "bmm(grad, mT(mat2))", "mat2": "bmm(mT(self), grad)"},
            rule="d(A @ B) per batch: grad_A = grad @ B^T,  grad_B = A^T @ grad")
_SCALED = "(grad if alpha == 1 else grad * alpha)"
_BETA_GRAD = "grad if beta == 1 else grad * beta"
ADDMM = _node("_addmm(Tensor self, Tensor mat1, Tensor mat2, Scalar beta, Scalar alpha)", node="AddmmBackward0",
              jvp="self_t * beta + (mm(mat1_t, mat2) + mm(mat1, mat2_t)) * alpha",
              aten="addmm", forward="addmm_forward(self, mat1, mat2, beta, alpha)",
              keeps={"transposed": "transposed_layouts(mat1, mat2)"},
              derivatives={"self": _BETA_GRAD, "mat1": f"mm_mat1_backward({_SCALED}, mat2, transposed[0])",
                           "mat2": f"mm_mat2_backward({_SCALED}, mat1, transposed[1])"},
              rule="d(beta*C + alpha*A @ B): grad_C = beta*grad,  grad_A = alpha*grad @ B^T,  "
                   "grad_B = alpha*A^T @ grad  (Linear: x @ W.T + b, grad_b = grad.sum(0))")
BADDBMM = _node("_baddbmm(Tensor self, Tensor batch1, Tensor batch2, Scalar beta, Scalar alpha)",
                node="BaddbmmBackward0", aten="baddbmm", forward="addmm_forward(self, batch1, batch2, beta, alpha)",
                jvp="self_t * beta + (bmm(batch1_t, batch2) + bmm(batch1, batch2_t)) * alpha",
                derivatives={"self": _BETA_GRAD, "batch1": f"bmm({_SCALED}, mT(batch2))",
                             "batch2": f"bmm(mT(batch1), {_SCALED})"},
                rule="d(beta*C + alpha*A @ B) per batch: grad_C = beta*grad,  grad_A = alpha*grad @ B^T,  "
                     "grad_B = alpha*A^T @ grad")
PRODUCTS = [MM, MV, DOT, BMM, ADDMM, BADDBMM]


# -- normalization and losses (the argument checks are in ops/nn.py) -------------------------
# The norms' forwards return xhat and rstd too, which plain backward reads.  ``loss_scale`` is
# the upstream gradient per element: divided by the count for "mean", times ``weight`` if given.

NATIVE_LAYER_NORM = _node(
    "_native_layer_norm(Tensor self, Tensor? weight, Tensor? bias, int ndims, float eps)",
    node="NativeLayerNormBackward0", aten="native_layer_norm", dtype="tensor",
    jvp="norm_tangent(self_t, weight_t, bias_t, weight, xhat, rstd, norm_axes(self, ndims), True, None)",
    forward="layer_norm_forward(self, weight, bias, ndims, eps)", intermediates=("xhat", "rstd"),
    derivatives={"self": "layer_norm_grad_input(grad, self, weight, ndims, eps, xhat, rstd)",
                 "weight": "layer_norm_grad_weight(grad, self, ndims, eps, xhat)",
                 "bias": "sum_over(grad, tuple(range(len(grad.shape) - ndims)))"},
    rule="d layer_norm: grad_u = rstd*(g - mean(g) - xhat*mean(g*xhat)), g = grad*weight")
NATIVE_BATCH_NORM = _node(
    "_native_batch_norm(Tensor self, Tensor? weight, Tensor? bias, Any mean, Any var, bool training, float eps)",
    node="NativeBatchNormBackward0", aten="native_batch_norm", dtype="tensor",
    jvp="norm_tangent(self_t, weight_t, bias_t, weight, xhat, rstd, channel_axes(self), training,"
        " channel_shape(self))",
    forward="batch_norm_forward(self, weight, bias, mean, var, training, eps)", intermediates=("xhat", "rstd"),
    derivatives={"self": "batch_norm_grad_input(grad, self, weight, mean, training, eps, xhat, rstd)",
                 "weight": "batch_norm_grad_weight(grad, self, mean, training, eps, xhat, rstd)",
                 "bias": "sum_over(grad, channel_axes(grad))"},
    rule="d batch_norm per channel: training grad_u = rstd*(g - mean(g) - xhat*mean(g*xhat)), eval grad_u = rstd*g, "
         "g = grad*weight; grad_w = sum(grad*xhat), grad_b = sum(grad)")
_LOSS_SCALE = "loss_scale(grad, broadcast_shapes(self.shape, target.shape), reduction)"
MSE_LOSS = _node("_mse_loss(Tensor self, Tensor target, str reduction)", jvp="weighted", node="MseLossBackward0", aten="mse_loss",
                 forward="mse_forward(self, target, reduction)",
                 derivatives={"self": f"{_LOSS_SCALE} * 2 * (self - target)",
                              "target": f"-({_LOSS_SCALE} * 2 * (self - target))"},
                 rule="d mean((u - t)**2)/du = 2*(u - t)/n (no /n for sum or none),  d/dt = -d/du")
_HUBER_GRAD = f"{_LOSS_SCALE} * clip(self - target, -delta, delta) * scale"
_HUBER = dict(forward="huber_forward(self, target, delta, scale, reduction)",
              derivatives={"self": _HUBER_GRAD, "target": f"-({_HUBER_GRAD})"})
HUBER_LOSS = _node("_huber_loss(Tensor self, Tensor target, float delta, float scale, str reduction)",
                   jvp="weighted", node="HuberLossBackward0", aten="huber_loss",
                   rule="d huber(u, t)/du = clamp(u - t, -delta, delta) (/n for mean),  d/dt = -d/du", **_HUBER)
SMOOTH_L1_LOSS = _node("_smooth_l1_loss(Tensor self, Tensor target, float delta, float scale, str reduction)",
                       jvp="weighted", node="SmoothL1LossBackward0", aten="smooth_l1_loss",
                       rule="d smooth_l1(u, t)/du = clamp(u - t, -beta, beta)/beta (/n for mean),  d/dt = -d/du",
                       **_HUBER)
# nll_loss: target and weight are not differentiable (no edges, as in PyTorch); forward returns
# the total weight too, which backward divides by for "mean", and each sample's class and weight.
_NLL = dict(forward="nll_forward(self, target, weight, reduction, ignore_index)",
            intermediates=("total_weight", "safe", "wt"),
            derivatives={"self": "nll_grad(grad, self, reduction, total_weight, safe, wt)"},
            keeps={"dim": "1 if len(self.shape) > 1 else 0", "keepdim": "False"}, jvp="weighted")
NLL_LOSS = _node("_nll_loss(Tensor self, Any target, Any weight, str reduction, int ignore_index)",
                 node="NllLossBackward0", aten="nll_loss",
                 rule="d nll(u, t)/du = -w[t]/W at each sample's target class, 0 elsewhere (W = sum of "
                      "weights for mean, 1 otherwise)", **_NLL)
NLL_LOSS2D = _node("_nll_loss2d(Tensor self, Any target, Any weight, str reduction, int ignore_index)",
                   node="NllLoss2DBackward0", aten="nll_loss2d",
                   rule="d nll(u, t)/du = -w[t]/W at each pixel's target class, 0 elsewhere", **_NLL)
_WEIGHTED = "loss_scale(grad, self.shape, reduction, weight)"
BINARY_CROSS_ENTROPY = _node(
    "_binary_cross_entropy(Tensor self, Tensor target, Tensor? weight, str reduction)",
    jvp="weighted",
    node="BinaryCrossEntropyBackward0", aten="binary_cross_entropy", dtype="tensor",
    forward="bce_forward(self, target, weight, reduction)",
    derivatives={"self": f"{_WEIGHTED} * (self - target) / at_least(1e-12, (1 - self) * self)",
                 "target": f"{_WEIGHTED} * bce_target_grad(self)"},
    rule="d bce(p, t)/dp = w*(p - t) / max(p*(1 - p), 1e-12)")
BINARY_CROSS_ENTROPY_WITH_LOGITS = _node(
    "_binary_cross_entropy_with_logits(Tensor self, Tensor target, Tensor? weight, Tensor? pos_weight, str reduction)",
    jvp="weighted",
    node="BinaryCrossEntropyWithLogitsBackward0", aten="binary_cross_entropy_with_logits", dtype="tensor",
    forward="bce_logits_forward(self, target, weight, pos_weight, reduction)",
    derivatives={"self": f"{_WEIGHTED} * (sigmoid(self) - target) if pos_weight is None else"
                         f" {_WEIGHTED} * ((1 - target) - ((pos_weight - 1) * target + 1) * (1 - sigmoid(self)))",
                 "target": f"{_WEIGHTED} * -self if pos_weight is None else"
                           f" {_WEIGHTED} * ((pos_weight - 1) * softplus_neg(self) - self)"},
    rule="d bce(sigmoid(u), t)/du = w*(sigmoid(u) - t) "
         "(with pos_weight: w*((1 - t) - (1 + (pw - 1)*t)*(1 - sigmoid(u))))")
# The convolution's gradients are convolutions too (each is linear in each operand), so they are
# the table's nodes again: differentiable to any order.
_CONF = "stride, padding, dilation, groups"
_CONV_ATTRS = "int[] stride, int[] padding, int[] dilation, int groups"
CONVOLUTION = _node(f"_convolution(Tensor self, Tensor weight, Tensor? bias, {_CONV_ATTRS})",
                    node="ConvolutionBackward0", aten="convolution", forward=f"convolution(self, weight, bias, {_CONF})",
                    jvp=f"convolution(self_t, weight, bias_t, {_CONF}) + convolution(self, weight_t, None, {_CONF})",
                    keeps={"x_shape": "sizes(self)", "w_shape": "sizes(weight)"},
                    derivatives={"self": f"conv_input_backward(grad, weight, x_shape, {_CONF})",
                                 "weight": f"conv_weight_backward(grad, self, w_shape, {_CONF})",
                                 "bias": "sum_over(grad, (0, 2, 3))"},
                    rule="d conv2d: grad_x = the gradient scattered back through each window times W,  "
                         "grad_W = sum over windows of grad * x-window,  grad_b = grad summed over N, H, W")
CONV_INPUT_BACKWARD = _node(
    f"_conv_input_backward(Tensor grad_output, Tensor weight, int[] x_shape, {_CONV_ATTRS})",
    node="ConvolutionBackwardBackward0", aten="convolution_backward", jvp="multilinear",
    forward=f"conv_input_backward(grad_output, weight, x_shape, {_CONF})", keeps={"w_shape": "sizes(weight)"},
    derivatives={"grad_output": f"convolution(grad, weight, None, {_CONF})",
                 "weight": f"conv_weight_backward(grad_output, grad, w_shape, {_CONF})"},
    rule="the input gradient of conv2d differentiated: grad_grad = conv2d(grad, W), grad_W = its weight gradient")
CONV_WEIGHT_BACKWARD = _node(
    f"_conv_weight_backward(Tensor grad_output, Tensor self, int[] w_shape, {_CONV_ATTRS})",
    node="ConvolutionBackwardBackward0", aten="convolution_backward", jvp="multilinear",
    forward=f"conv_weight_backward(grad_output, self, w_shape, {_CONF})", keeps={"x_shape": "sizes(self)"},
    derivatives={"grad_output": f"convolution(self, grad, None, {_CONF})",
                 "self": f"conv_input_backward(grad_output, grad, x_shape, {_CONF})"},
    rule="the weight gradient of conv2d differentiated: grad_grad = conv2d(x, grad), grad_x = its input gradient")
# at::norm(x, p, dim, keepdim), as PyTorch's composite losses (pairwise_distance, triplet_margin_loss)
# call it: the vector norm's formulas under its own node name.
# (``dim``, not ``dims``: PyTorch's node keeps it as ``_saved_dim``)
NORM_DIM = _node("_norm_dim(Tensor self, float p, int[] dim, bool keepdim)", jvp="weighted", node="NormBackward1",
                 aten="norm", forward="vector_norm_forward(self, p, dim, keepdim)",
                 derivatives={"self": "norm_grad(grad, self, result, p, dim, keepdim)"},
                 rule="d(||u||_p)/du = sign(u)*|u|**(p-1) / ||u||_p**(p-1)")
NN = [CONVOLUTION, CONV_INPUT_BACKWARD, CONV_WEIGHT_BACKWARD, NATIVE_LAYER_NORM, NATIVE_BATCH_NORM, MSE_LOSS, NLL_LOSS, NLL_LOSS2D, HUBER_LOSS, SMOOTH_L1_LOSS, BINARY_CROSS_ENTROPY,
      BINARY_CROSS_ENTROPY_WITH_LOGITS]


# -- ops written by hand: their schema here, their forward and backward in ops/<module>.py -------
# (reductions, linear algebra, shape, creation and nn keep hand-written code where no
# elementwise formula fits; the table gives them PyTorch's signatures, out= and the aliases)

def _declared():
    from .. import creation
    from . import activation, linalg, nn, reduce, shape
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


OPS = (UNARY + [_ROUND_DECIMALS, _TRIGAMMA, SOFTMAX, LOG_SOFTMAX] + BINARY
       + [_XLOGY_OF_NUMBER, _XLOGY_NUMBER, _FMOD_NUMBER, _REMAINDER_NUMBER, _REMAINDER_OF_NUMBER, _COPYSIGN_NUMBER]
       + ARITH + REDUCTIONS + PRODUCTS + NN)
OPS += ACTIVATIONS + SCALAR_OVERLOADS + LOSSES + PADS + [NORM_DIM]  # nn.functional's activations and losses (ops/optable_nn.py)


# -- building and installing ----------------------------------------------------------------------

def _atan2_recip_array(a, b):
    """1 / (a**2 + b**2), taken as 0 where it is infinite: atan2(0, 0) has gradient 0, as in PyTorch."""
    with np.errstate(divide="ignore"):
        r = np.reciprocal(a * a + b * b)
    return np.where(np.isinf(r), r.dtype.type(0), r)


def _atan2_recip_tensor(a, b):
    r = (a * a + b * b).reciprocal()
    return TENSOR_NS["where"](r.isinf(), Tensor._wrap(np.zeros((), r._data.dtype)), r)


def _reduction_helpers():
    """The helpers of the reductions' derivatives, on arrays and on Tensors."""
    from . import reduce
    from .shape import expand_to
    ARRAY_NS.update(
        sizes=lambda t: _array_of(t).shape, np_max=np.max, np_min=np.min, prod=np.prod, sum_array=sum_array,
        mean_array=mean_array, extreme=reduce.extreme, variance=reduce.variance, denominator=reduce.denominator,
        logsumexp_forward=reduce.logsumexp_forward, vector_norm_forward=reduce.vector_norm_forward,
        cumsum_forward=lambda x, dim, dtype: cumsum_array(x, axis=dim, dtype=dtype) if x.ndim else x.astype(dtype),
        cumprod_forward=lambda x, dim, dtype: np.cumprod(x, axis=dim, dtype=dtype) if x.ndim else x.astype(dtype))
    both = dict(nan=math.nan, unreduce=reduce.unreduce, count=reduce.count, ratio=reduce.ratio, tuple=tuple,
                range=range, len=len)
    ARRAY_NS.update(both, expand_to=expand_array,
                    evenly_distributed=reduce.evenly_distributed, prod_grad=reduce.prod_grad,
                    mean_keep=lambda x, dims: mean_array(x, axis=dims, keepdims=True),
                    reverse_cumsum=reduce.reverse_cumsum, cumprod_grad=reduce.cumprod_grad, norm_grad=reduce.norm_grad)
    TENSOR_NS.update(both, expand_to=expand_to, prod_grad=reduce.prod_grad_tensor,
                     evenly_distributed=reduce.evenly_distributed_tensor,
                     mean_keep=lambda x, dims: x.mean(dims, keepdim=True),
                     reverse_cumsum=reduce.reverse_cumsum_tensor,
                     cumprod_grad=lambda g, x, dim: reduce.cumprod_grad(g, x, dim, reduce.reverse_cumsum_tensor),
                     norm_grad=reduce.norm_grad_tensor, cumprod_tangent=reduce.cumprod_tangent)


def _addmm_forward(c: np.ndarray, a: np.ndarray, b: np.ndarray, beta, alpha) -> np.ndarray:
    product = np.matmul(a, b)  # a new array: scaled and summed into in place
    if alpha != 1:
        np.multiply(product, product.dtype.type(alpha), out=product)
    if beta == 0:  # input is ignored, NaN and inf in it included (as PyTorch)
        return product
    c = c if beta == 1 else c * c.dtype.type(beta)
    if c.dtype != product.dtype or (c.shape != product.shape and c.shape != product.shape[1:]):
        return product + c  # (c may broadcast the product up)
    return np.add(product, c, out=product)


def _product_helpers():
    from . import linalg
    from .shape import t
    ARRAY_NS.update(matmul=np.matmul, dot=np.dot, outer=np.outer, mv=np.matmul, bmm=np.matmul, t=np.transpose,
                    mT=lambda a: np.swapaxes(a, -1, -2), addmm_forward=_addmm_forward,
                    transposed_layouts=linalg.transposed_layouts,
                    mm_mat1_backward=linalg.mm_mat1_backward, mm_mat2_backward=linalg.mm_mat2_backward)
    TENSOR_NS.update(t=t, mT=lambda a: a.mT, mm_mat1_backward=lambda g, b, _: linalg.mm(g, b.t()),
                     mm_mat2_backward=lambda g, a, _: linalg.mm(a.t(), g), bmm=linalg.bmm, mv=linalg.mv)


def _loss_helpers():
    from . import conv, nn
    ARRAY_NS.update(convolution=conv.convolution, conv_input_backward=conv.conv_input_backward,
                    conv_weight_backward=conv.conv_weight_backward)
    TENSOR_NS.update(convolution=lambda *args: CONVOLUTION.fn.apply(*args),
                     conv_input_backward=lambda *args: CONV_INPUT_BACKWARD.fn.apply(*args),
                     conv_weight_backward=lambda *args: CONV_WEIGHT_BACKWARD.fn.apply(*args))
    both = dict(loss_scale=nn.loss_scale, broadcast_shapes=np.broadcast_shapes, sum_over=nn.sum_over,
                channel_axes=nn.channel_axes)
    ARRAY_NS.update(both, mse_forward=nn.mse_forward, nll_forward=nn.nll_forward, nll_grad=nn.nll_grad, huber_forward=nn.huber_forward, bce_forward=nn.bce_forward,
                    bce_logits_forward=nn.bce_logits_forward, softplus_neg=nn.softplus_neg,
                    layer_norm_forward=nn.layer_norm_forward, batch_norm_forward=nn.batch_norm_forward,
                    layer_norm_grad_input=nn.layer_norm_grad_input, layer_norm_grad_weight=nn.layer_norm_grad_weight,
                    batch_norm_grad_input=nn.batch_norm_grad_input, batch_norm_grad_weight=nn.batch_norm_grad_weight,
                    at_least=lambda low, a: np.maximum(a, a.dtype.type(low)),
                    bce_target_grad=lambda x: np.maximum(np.log1p(-x), -100) - np.maximum(np.log(x), -100))
    TENSOR_NS.update(both, at_least=lambda low, a: where(a > low, a, low), norm_tangent=nn.norm_tangent,
                     nll_grad=nn.nll_grad_tensor,
                     norm_axes=nn._norm_axes, channel_shape=nn._channel_shape,
                     layer_norm_grad_input=nn.layer_norm_grad_input_tensor,
                     layer_norm_grad_weight=nn.layer_norm_grad_weight_tensor,
                     batch_norm_grad_input=nn.batch_norm_grad_input_tensor,
                     batch_norm_grad_weight=nn.batch_norm_grad_weight_tensor,
                     softplus_neg=lambda x: -(x.sigmoid().log()),  # softplus(-x) == -log(sigmoid(x))
                     bce_target_grad=lambda p: (1 - p).log() - p.log())


def _build():
    _reduction_helpers()
    _product_helpers()
    _loss_helpers()
    from ..creation import zeros_like
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
