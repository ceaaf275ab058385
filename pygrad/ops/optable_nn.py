"""The op table's entries for ``pygrad.nn.functional`` beyond relu/gelu/elu/softplus/silu and the
losses of ``ops/optable.py`` (which installs these lists with the rest of the table):

- ``ACTIVATIONS``: hardtanh, hardsigmoid, hardswish, selu, celu, mish, logsigmoid, softshrink,
  hardshrink, threshold, glu, PReLU's kernel and RReLU's kernel, each one PyTorch autograd node.
  PyTorch names the node of some in-place variants differently (``F.elu_`` records
  ``EluBackward1``, whose derivative reads the result, since the input is overwritten;
  ``threshold_``'s ``ThresholdBackward1`` reads the input as it was): those are the ``*_INPLACE``
  entries, private nodes the in-place calls apply.
- ``SCALAR_OVERLOADS``: tensor-and-number arithmetic as PyTorch's C++ composites record it
  (``AddBackward1``...), for the losses composed in ``pygrad/nn/_functional_loss.py``.
- ``LOSSES``: soft_margin_loss, multi_margin_loss and multilabel_margin_loss.
- ``PADS``: F.pad's reflect and replicate modes and their gradients.

The activations and losses PyTorch composes from other ops (softsign, tanhshrink, softmin,
normalize, kl_div, the embedding losses ...) are in ``pygrad/nn/_functional_activation.py`` and
``pygrad/nn/_functional_loss.py``.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._opdef import ARRAY_NS, TENSOR_NS, Op
from ._util import normalize_dim
from .inplace import inplace as _into

# PyTorch's hardsigmoid backward multiplies by 1/6 computed in float32, in every dtype
_SIXTH_FLOAT = float(np.float32(1.0) / np.float32(6.0))
# torch.nn.functional.selu's constants
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _not_implemented_for(x: Tensor, kernel: str):
    return NotImplementedError(f'"{kernel}" not implemented for \'{x.dtype._tensor_type[:-6]}\'')


def _activation(kernel: str, inplace_op: Op | None = None, check=None, floating: bool = True):
    """The argument handling of an activation: PyTorch's dtype error, ``check(x, *numbers)``, and
    ``inplace=True`` writing into the input (through ``inplace_op``'s node where PyTorch's
    in-place variant has a node of its own)."""
    def impl(Fn, self, inplace=False, **attrs):
        if floating and not self.dtype.is_floating_point:
            raise _not_implemented_for(self, kernel)
        numbers = [float(v) for v in attrs.values()]
        if check is not None:
            check(self, *numbers)
        if inplace:
            return _into(inplace_op.fn if inplace_op is not None else Fn, self, *numbers)
        return Fn.apply(self, *numbers)
    return impl


def _hardtanh_check(x: Tensor, min_val: float, max_val: float):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if x.dtype.name == "bool":
        raise RuntimeError("Bool inputs not supported for hardtanh")


def _celu_check(x: Tensor, alpha: float):
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")


def _softshrink_check(x: Tensor, lambd: float):
    if lambd < 0:
        finfo = np.finfo(x._data.dtype)
        raise RuntimeError(f"lambda must be in range [0, {float(finfo.max):g}] for input dtype "
                           f"{x.dtype._tensor_type[:-6]}, but found {lambd:g}")


def _glu(Fn, self, dim=-1):
    if not self.dtype.is_floating_point:
        raise _not_implemented_for(self, "glu_cpu")
    if self.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    dim = normalize_dim(dim, self.ndim)
    if self.shape[dim] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim} is size {self.shape[dim]}")
    return Fn.apply(self, dim)


def _selu(Fn, self, inplace=False):
    if not self.dtype.is_floating_point:
        raise _not_implemented_for(self, "elu_cpu")
    if inplace:
        return _into(_ELU_INPLACE.fn, self, SELU_ALPHA, SELU_SCALE, 1.0)
    return Fn.apply(self)


# -- in-place nodes (PyTorch's derivative of the result) -------------------------------------------

_ELU_INPLACE = Op("_elu_inplace(Tensor self, float alpha, float scale, float input_scale)", node="EluBackward1",
                  forward="elu_forward(self, alpha, scale, input_scale)", function=False, method=False,
                  derivatives={"self": "where(result <= 0, grad * input_scale * (result + alpha * scale),"
                                       " grad * scale)"},
                  rule="d(elu(u))/du from the result r: scale where r > 0, else input_scale*(r + alpha*scale)")
_CELU_INPLACE = Op("_celu_inplace(Tensor self, float alpha)", node="CeluBackward1", function=False, method=False,
                   forward="elu_forward(self, alpha, 1.0, 1.0 / alpha)",
                   derivatives={"self": "where(result <= 0, grad * (1.0 / alpha) * (result + alpha), grad)"},
                   rule="d(celu(u))/du from the result r: 1 where r > 0, else (r + alpha)/alpha")
_LEAKY_RELU_INPLACE = Op("_leaky_relu_inplace(Tensor self, float negative_slope)", node="LeakyReluBackward1",
                         kernel="leaky_relu", function=False, method=False,
                         derivatives={"self": "leaky_relu_backward(grad, result, negative_slope)"},
                         rule="d(leaky_relu(u))/du from the result r: 1 where r > 0, else negative_slope")
_THRESHOLD_INPLACE = Op("_threshold_inplace(Tensor self, float threshold, float value)", node="ThresholdBackward1",
                        forward="threshold_forward(self, threshold, value)", function=False, method=False,
                        derivatives={"self": "where(self <= threshold, 0.0, grad)"},
                        rule="d(threshold(u))/du = 0 where u <= threshold, else 1")
_RRELU_INPLACE = Op("_rrelu_with_noise_inplace(Tensor self, Tensor noise)", node="RreluWithNoiseBackward1",
                    forward="self * noise", function=False, method=False, derivatives={"self": "grad * noise"},
                    rule="d(rrelu(u))/du = the slope drawn for u (1 where u > 0)")
INPLACE_NODES = {"elu": _ELU_INPLACE, "celu": _CELU_INPLACE, "leaky_relu": _LEAKY_RELU_INPLACE,
                 "threshold": _THRESHOLD_INPLACE, "rrelu": _RRELU_INPLACE}

PRELU = Op("_prelu_kernel(Tensor self, Tensor weight)", node="PreluKernelBackward0", dtype="promote",
            forward="where(self > 0, self, weight * self)", function=False, method=False,
            derivatives={"self": "where(self > 0, grad, weight * grad)", "weight": "where(self > 0, 0.0, self * grad)"},
            rule="d(prelu(u, w)): grad_u = 1 where u > 0, else w;  grad_w = 0 where u > 0, else u")
RRELU = Op("_rrelu_with_noise(Tensor self, Tensor noise)", node="RreluWithNoiseBackward0", forward="self * noise",
            function=False, method=False, derivatives={"self": "grad * noise"},
            rule="d(rrelu(u))/du = the slope drawn for u (1 where u > 0; (lower + upper)/2 in eval mode)")



def inplace_call(name: str, x: Tensor, *numbers: float) -> Tensor:
    """``name``'s result written into ``x`` by PyTorch's in-place node (elu's takes alpha alone)."""
    if name == "elu":
        numbers = (numbers[0], 1.0, 1.0)
    return _into(INPLACE_NODES[name].fn, x, *numbers)


_F = dict(function=False, method=False, functional=True)  # nn.functional only, as in PyTorch

ACTIVATIONS = list(INPLACE_NODES.values()) + [
    Op("hardtanh(Tensor self, float min_val=-1.0, float max_val=1.0, bool inplace=False)", node="HardtanhBackward0",
       forward="clip_keep(self, min_val, max_val)", impl=_activation("hardtanh", check=_hardtanh_check,
                                                                    floating=False),
       derivatives={"self": "where((self <= min_val) | (self >= max_val), 0.0, grad)"},
       rule="d(hardtanh(u))/du = 1 where min_val < u < max_val, else 0", **_F),
    Op("hardsigmoid(Tensor self, bool inplace=False)", node="HardsigmoidBackward0",
       forward="minimum(maximum(self + 3, 0), 6) / 6", impl=_activation("hardsigmoid_cpu"),
       derivatives={"self": f"where((self > -3) & (self < 3), grad * {_SIXTH_FLOAT!r}, 0.0)"},
       rule="d(relu6(u + 3)/6)/du = 1/6 where -3 < u < 3, else 0", **_F),
    Op("hardswish(Tensor self, bool inplace=False)", node="HardswishBackward0",
       forward="self * minimum(maximum(self + 3, 0), 6) / 6", impl=_activation("hardswish_cpu"),
       derivatives={"self": "where(self <= -3, 0.0, where(self < 3, grad * (self / 3 + 0.5), grad))"},
       rule="d(u*relu6(u + 3)/6)/du = 0 up to -3, u/3 + 1/2 between, 1 from 3 on (PyTorch's one-sided kinks)", **_F),
    Op("selu(Tensor self, bool inplace=False)", node="EluBackward0",
       forward=f"elu_forward(self, {SELU_ALPHA!r}, {SELU_SCALE!r}, 1.0)",
       impl=_selu,
       derivatives={"self": f"where(self <= 0, grad * {SELU_ALPHA * SELU_SCALE!r} * exp(self),"
                            f" grad * {SELU_SCALE!r})"},
       rule="d(selu(u))/du = scale where u > 0, else scale*alpha*exp(u)", **_F),
    Op("celu(Tensor self, float alpha=1.0, bool inplace=False)", node="CeluBackward0",
       forward="elu_forward(self, alpha, 1.0, 1.0 / alpha)",
       impl=_activation("elu_cpu", _CELU_INPLACE, check=_celu_check),
       derivatives={"self": "where(self <= 0, grad * exp(self * (1.0 / alpha)), grad)"},
       rule="d(celu(u))/du = 1 where u > 0, else exp(u/alpha)", **_F),
    Op("mish(Tensor self, bool inplace=False)", node="MishBackward0",
       forward="self * tanh(log1p(exp(self)))", impl=_activation("mish_cpu"),
       derivatives={"self": "grad * (tanh(log1p(exp(self)))"
                            " + self * sigmoid(self) * (1 - tanh(log1p(exp(self))) ** 2))"},
       rule="d(u*tanh(softplus(u)))/du = t + u*sigmoid(u)*(1 - t**2),  t = tanh(softplus(u))", **_F),
    Op("logsigmoid(Tensor self)", node="LogSigmoidBackward0",
       forward="minimum(self, 0) - log1p(exp(-abs(self)))", impl=_activation("log_sigmoid_cpu"),
       derivatives={"self": "grad * sigmoid(-self)"}, rule="d(log(sigmoid(u)))/du = sigmoid(-u)", **_F),
    Op("softshrink(Tensor self, float lambd=0.5)", node="SoftshrinkBackward0",
       forward="where(self > lambd, self - lambd, where(self < -lambd, self + lambd, 0.0))",
       impl=_activation("softshrink_check", check=_softshrink_check),
       derivatives={"self": "where((self >= -lambd) & (self <= lambd), 0.0, grad)"},
       rule="d(softshrink(u))/du = 0 where |u| <= lambd, else 1", **_F),
    Op("hardshrink(Tensor self, float lambd=0.5)", node="HardshrinkBackward0", functional=True, out=True,
       forward="where((self >= -lambd) & (self <= lambd), 0.0, self)", impl=_activation("hardshrink_cpu"),
       derivatives={"self": "where((self >= -lambd) & (self <= lambd), 0.0, grad)"},
       rule="d(hardshrink(u))/du = 0 where |u| <= lambd, else 1"),
    Op("threshold(Tensor self, float threshold, float value, bool inplace=False)", node="ThresholdBackward0",
       forward="threshold_forward(self, threshold, value)",
       impl=_activation("threshold", _THRESHOLD_INPLACE, floating=False),
       derivatives={"self": "where(self <= threshold, 0.0, grad)"},
       rule="d(threshold(u))/du = 0 where u <= threshold, else 1", **_F),
    Op("glu(Tensor self, int dim=-1)", node="GluBackward0", forward="glu_forward(self, dim)", impl=_glu,
       derivatives={"self": "glu_backward(grad, self, dim)"}, elementwise=False, jvp="glu_jvp(self_t, self, dim)",
       rule="d(a*sigmoid(b)), (a, b) = halves of u along dim: grad_a = sigmoid(b), grad_b = a*s*(1 - s)", **_F),
    PRELU, RRELU,
]


# -- tensor-and-number arithmetic as PyTorch's C++ composites record it ------------------------------
# (``x + 1.0`` in Python is AddBackward0; at::add(x, 1.0) inside a composite loss is AddBackward1)
SCALAR_OVERLOADS = [
    ADD_SCALAR := Op("_add_scalar(Tensor self, float other)", node="AddBackward1", forward="self + other",
                     function=False, method=False, derivatives={"self": "grad"}, rule="d(u + c)/du = 1"),
    SUB_SCALAR := Op("_sub_scalar(Tensor self, float other)", node="SubBackward1", forward="self - other",
                     function=False, method=False, derivatives={"self": "grad"}, rule="d(u - c)/du = 1"),
    MUL_SCALAR := Op("_mul_scalar(Tensor self, float other)", node="MulBackward1", forward="self * other",
                     function=False, method=False, derivatives={"self": "grad * other"}, rule="d(u * c)/du = c"),
]


# -- losses of one node ---------------------------------------------------------------------------
_SCALE = "loss_scale(grad, broadcast_shapes(self.shape, target.shape), reduction)"
SOFT_MARGIN_LOSS = Op("_soft_margin_loss(Tensor self, Tensor target, str reduction)", node="SoftMarginLossBackward0",
                      aten="soft_margin_loss", dtype="promote", forward="soft_margin_forward(self, target, reduction)",
                      function=False, method=False, elementwise=False, jvp="weighted",
                      derivatives={"self": f"{_SCALE} * -target * exp(-target * self) / (1 + exp(-target * self))"},
                      rule="d log(1 + exp(-t*u))/du = -t*exp(-t*u)/(1 + exp(-t*u)) (/n for mean)")
# The margin losses' gradients are ops of their own with no derivative, as in PyTorch (a gradient
# taken under create_graph has grad_fn NotImplemented; differentiating it again is an error).
_MARGIN_ARGS = "Tensor self, Tensor target, Tensor? weight, float p, float margin, str reduction"  # tensors first
MULTI_MARGIN_LOSS_BACKWARD = Op(f"_multi_margin_loss_backward(Tensor grad_output, {_MARGIN_ARGS})",
                                aten="multi_margin_loss_backward", function=False, method=False,
                                forward="multi_margin_backward(grad_output, self, target, weight, p, margin, reduction)")
MULTI_MARGIN_LOSS = Op(f"_multi_margin_loss({_MARGIN_ARGS})", node="MultiMarginLossBackward0",
                       aten="multi_margin_loss", function=False, method=False, elementwise=False,  # no jvp, as torch
                       forward="multi_margin_forward(self, target, weight, p, margin, reduction)",
                       derivatives={"self": "multi_margin_backward(grad, self, target, weight, p, margin, reduction)"},
                       rule="d sum_j max(0, margin - u_y + u_j)**p / C: +(p*z**(p-1))/C to u_j, the sum of them off u_y")
MULTILABEL_MARGIN_LOSS_BACKWARD = Op("_multilabel_margin_loss_backward(Tensor grad_output, Tensor self, "
                                     "Tensor target, str reduction)", aten="multilabel_margin_loss_backward",
                                     function=False, method=False,
                                     forward="multilabel_margin_backward(grad_output, self, target, reduction)")
MULTILABEL_MARGIN_LOSS = Op("_multilabel_margin_loss(Tensor self, Tensor target, str reduction)",
                            node="MultilabelMarginLossBackward0", aten="multilabel_margin_loss_forward",
                            function=False, method=False, elementwise=False,  # no jvp, as torch
                            forward="multilabel_margin_forward(self, target, reduction)",
                            derivatives={"self": "multilabel_margin_backward(grad, self, target, reduction)"},
                            rule="d sum_{j target, k not} max(0, 1 - (u_j - u_k)) / C: +1/C to u_k, -1/C to u_j "
                                 "per active pair")
LOSSES = [SOFT_MARGIN_LOSS, MULTI_MARGIN_LOSS_BACKWARD, MULTI_MARGIN_LOSS, MULTILABEL_MARGIN_LOSS_BACKWARD,
          MULTILABEL_MARGIN_LOSS]


# -- reflection and replication padding (F.pad's "reflect" and "replicate" modes) ------------------
# Each output element copies an input element; the gradient sums back into it, and that sum's own
# derivative is the padding again (PyTorch's ReflectionPad1DBackwardBackward0...).
def _index_pads(mode: str, k: int) -> list:
    kind = mode.capitalize()
    forward = Op(f"_{mode}_pad{k}d(Tensor self, int[] pads)", node=f"{kind}Pad{k}DBackward0", aten=f"{mode}_pad{k}d",
                 forward=f"index_pad(self, pads, {mode!r})", function=False, method=False, elementwise=False,
                 jvp="auto_linear", derivatives={"self": f"{mode}_pad{k}d_backward(grad, self, pads)"},
                 rule=f"d {mode}_pad: each input element gets the sum of the gradients of its copies")
    backward = Op(f"_{mode}_pad{k}d_backward(Tensor grad_output, Tensor self, int[] pads)",
                  node=f"{kind}Pad{k}DBackwardBackward0", aten=f"{mode}_pad{k}d_backward",
                  forward=f"index_pad_backward(grad_output, self, pads, {mode!r})", function=False, method=False,
                  elementwise=False, jvp="auto_linear", derivatives={"grad_output": f"{mode}_pad{k}d(grad, pads)"},
                  rule=f"the gradient of {mode}_pad differentiated: the padding of grad")
    return [forward, backward]


INDEX_PADS = {(mode, k): ops for mode in ("reflection", "replication") for k in (1, 2, 3)
              for ops in [_index_pads(mode, k)]}
PADS = [op for ops in INDEX_PADS.values() for op in ops]

# -- the helpers the forwards and derivatives above call ------------------------------------------

def _elu_forward(x: np.ndarray, alpha: float, scale: float, input_scale: float) -> np.ndarray:
    """PyTorch's elu kernel: ``scale*x`` where x > 0, else ``alpha*scale*(exp(input_scale*x) - 1)``,
    the coefficients in the input's dtype."""
    t = x.dtype.type
    return np.where(x <= 0, np.expm1(x * t(input_scale)) * (t(alpha) * t(scale)), x * t(scale))


def _clip_keep(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """``clip`` with the bounds taken in the input's dtype (an integer hardtanh stays integer)."""
    return np.clip(x, x.dtype.type(low), x.dtype.type(high))


def _threshold_forward(x: np.ndarray, threshold: float, value: float) -> np.ndarray:
    return np.where(x <= x.dtype.type(threshold), x.dtype.type(value), x)


def _glu_forward(x: np.ndarray, dim: int) -> np.ndarray:
    a, b = np.split(x, 2, axis=dim)
    return a * ARRAY_NS["sigmoid"](b)


def _glu_backward_array(grad: np.ndarray, x: np.ndarray, dim: int) -> np.ndarray:
    a, b = np.split(x, 2, axis=dim)
    s = ARRAY_NS["sigmoid"](b)
    return np.concatenate([grad * s, grad * a * s * (1 - s)], axis=dim)


def _glu_backward_tensor(grad: Tensor, x: Tensor, dim: int) -> Tensor:
    a, b = x.chunk(2, dim)
    s = b.sigmoid()
    return TENSOR_NS["cat"]([grad * s, grad * a * s * (1 - s)], dim)


def _soft_margin_forward(x: np.ndarray, y: np.ndarray, reduction: str) -> np.ndarray:
    from .nn import _reduce_array
    return _reduce_array(np.log1p(np.exp(-y * x)), reduction)


def _per_sample(grad: np.ndarray, n: int, reduction: str) -> np.ndarray:
    """The upstream gradient of each sample's loss, as a column."""
    if reduction == "none":
        return np.reshape(grad, (n, 1))
    return np.full((n, 1), grad / n if reduction == "mean" else grad, dtype=grad.dtype)


def _reduce_samples(loss: np.ndarray, reduction: str, unbatched: bool) -> np.ndarray:
    from .nn import _reduce_array
    if reduction == "none":
        return loss[0] if unbatched else loss
    return _reduce_array(loss, reduction)


def _multi_margin_terms(x: np.ndarray, target: np.ndarray, margin: float):
    """Per sample and class: the margin ``z = margin - x_y + x_j`` and where it is active (j != y, z > 0)."""
    # (the backward is given the target in the gradient's dtype)
    x2, y = x.reshape(-1, x.shape[-1]), target.reshape(-1).astype(np.int64)
    z = x.dtype.type(margin) - np.take_along_axis(x2, y[:, None], 1) + x2
    active = (z > 0) & (np.arange(x2.shape[1]) != y[:, None])
    return x2, y, z, active


def _multi_margin_forward(x, target, weight, p, margin, reduction):
    x2, y, z, active = _multi_margin_terms(x, target, margin)
    h = np.where(active, z if p == 1 else z * z, x.dtype.type(0))
    if weight is not None:
        h = h * weight[y][:, None]
    return _reduce_samples(h.sum(1) / x2.shape[1], reduction, x.ndim == 1)


def _multi_margin_backward(grad, x, target, weight, p, margin, reduction):
    x2, y, z, active = _multi_margin_terms(x, target, margin)
    d = np.where(active, x.dtype.type(1) if p == 1 else 2 * z, x.dtype.type(0))
    if weight is not None:
        d = d * weight[y][:, None]
    d = d * (_per_sample(grad, x2.shape[0], reduction) / x2.shape[1])
    rows = np.arange(x2.shape[0])
    d[rows, y] = -d.sum(1)
    return d.reshape(x.shape)


def _multilabel_terms(x: np.ndarray, target: np.ndarray):
    """Per sample: which target slots hold classes (up to the first -1), whether each class is a
    target, and the margins ``1 - (x_j - x_k)`` of target j and class k where they count."""
    x2, t = x.reshape(-1, x.shape[-1]), target.reshape(-1, x.shape[-1]).astype(np.int64)
    valid = np.cumprod(t != -1, axis=1).astype(bool)
    classes = np.where(valid, t, 0)
    slots = (classes[:, :, None] == np.arange(x2.shape[1])) & valid[:, :, None]  # slot -> its class, one-hot
    z = 1 - np.take_along_axis(x2, classes, 1)[:, :, None] + x2[:, None, :]
    counted = valid[:, :, None] & ~slots.any(1)[:, None, :] & (z > 0)
    return x2, slots, z, counted


def _multilabel_margin_forward(x, target, reduction):
    x2, _, z, counted = _multilabel_terms(x, target)
    loss = np.where(counted, z, x.dtype.type(0)).sum((1, 2)) / x2.shape[1]
    return _reduce_samples(loss, reduction, x.ndim == 1)


def _multilabel_margin_backward(grad, x, target, reduction):
    x2, slots, _, counted = _multilabel_terms(x, target)
    pairs = counted.sum(1) - np.einsum("nt,ntc->nc", counted.sum(2), slots)  # +1 to class k, -1 to target j
    scale = _per_sample(grad, x2.shape[0], reduction) / x2.shape[1]
    return (pairs * scale).astype(x.dtype, copy=False).reshape(x.shape)


ARRAY_NS.update(soft_margin_forward=_soft_margin_forward, elu_forward=_elu_forward, clip_keep=_clip_keep, threshold_forward=_threshold_forward,
                glu_forward=_glu_forward, glu_backward=_glu_backward_array)
def _glu_jvp(tangent: Tensor, x: Tensor, dim: int) -> Tensor:
    a, b = x.chunk(2, dim)
    ta, tb = tangent.chunk(2, dim)
    s = b.sigmoid()
    return ta * s + a * s * (1 - s) * tb


def _pad_indices(n: int, low: int, high: int, mode: str) -> np.ndarray:
    """For each position of a padded dim of length ``n``: the input position it copies (negative
    amounts crop)."""
    idx = np.pad(np.arange(n), (max(low, 0), max(high, 0)), mode="reflect" if mode == "reflection" else "edge")
    return idx[max(-low, 0):len(idx) - max(-high, 0)]


def _padded_dims(ndim: int, pads) -> list:
    """(axis, low, high) per padded dim; ``pads`` lists the last dim first, as F.pad."""
    return [(ndim - 1 - i, pads[2 * i], pads[2 * i + 1]) for i in range(len(pads) // 2)]


def _index_pad(x: np.ndarray, pads, mode: str) -> np.ndarray:
    for axis, low, high in _padded_dims(x.ndim, pads):
        x = np.take(x, _pad_indices(x.shape[axis], low, high, mode), axis=axis)
    return x


def _index_pad_backward(grad: np.ndarray, x: np.ndarray, pads, mode: str) -> np.ndarray:
    for axis, low, high in _padded_dims(grad.ndim, pads):
        n = x.shape[axis]
        moved = np.moveaxis(grad, axis, 0)
        total = np.zeros((n,) + moved.shape[1:], grad.dtype)
        np.add.at(total, _pad_indices(n, low, high, mode), moved)
        grad = np.moveaxis(total, 0, axis)
    return grad


ARRAY_NS.update(index_pad=_index_pad, index_pad_backward=_index_pad_backward)
for (_mode, _k), (_fwd, _bwd) in INDEX_PADS.items():  # reflection_pad1d(x, pads) ... in both forms
    ARRAY_NS[f"{_mode}_pad{_k}d"] = (lambda mode: lambda x, pads: _index_pad(x, pads, mode))(_mode)
    ARRAY_NS[f"{_mode}_pad{_k}d_backward"] = (lambda mode: lambda g, x, pads: _index_pad_backward(g, x, pads, mode))(
        _mode)
    TENSOR_NS[f"{_mode}_pad{_k}d"] = (lambda op: lambda *args: op.fn.apply(*args))(_fwd)
    TENSOR_NS[f"{_mode}_pad{_k}d_backward"] = (lambda op: lambda *args: op.fn.apply(*args))(_bwd)

ARRAY_NS.update(multi_margin_forward=_multi_margin_forward, multi_margin_backward=_multi_margin_backward,
                multilabel_margin_forward=_multilabel_margin_forward,
                multilabel_margin_backward=_multilabel_margin_backward)
TENSOR_NS.update(glu_backward=_glu_backward_tensor, glu_jvp=_glu_jvp,
                 multi_margin_backward=lambda *args: MULTI_MARGIN_LOSS_BACKWARD.fn.apply(*args),
                 multilabel_margin_backward=lambda *args: MULTILABEL_MARGIN_LOSS_BACKWARD.fn.apply(*args))
