"""What a backward node can tell about itself: saved tensors, attributes, derivative rule.

Used by ``pygrad.viz.make_dot`` (labels, ``show_saved``, ``show_attrs``) and by
``pygrad.autograd.explain``.  Saved tensors get PyTorch's names (``self``, ``other``,
``result``...) so pictures read like torchviz's on the same program.
"""
from __future__ import annotations

import numpy as np

from .function import AccumulateGrad

__all__ = ["saved_entries", "node_attributes", "derivative_rule", "is_custom", "is_elementwise",
           "recompute_output", "NodeMeta", "register_node"]


class NodeMeta:
    """What the op table declares about a node: the names of its saved tensors, its rule
    text, whether it is elementwise, and how to recompute its output from saved inputs."""

    __slots__ = ("saved", "rule", "elementwise", "recompute", "recompute_from")

    def __init__(self, saved: tuple, rule, elementwise: bool, recompute=None, recompute_from: tuple = ()):
        self.saved, self.rule, self.elementwise = saved, rule, elementwise
        self.recompute, self.recompute_from = recompute, recompute_from


# Filled by the op table (pygrad/ops/optable.py) when it builds its nodes.
_NODES: dict[str, NodeMeta] = {}


def register_node(name: str, meta: NodeMeta) -> None:
    _NODES[name] = meta

# PyTorch's names of the tensors each built-in node saves, in the order pygrad saves them.
_SAVED_NAMES = {
}

# Attributes every node has: bookkeeping, not something an op chose to keep.
_FRAMEWORK_ATTRS = frozenset({"next_functions", "needs_input_grad", "materialize_grads", "variable"})


class SavedEntry:
    """One saved-tensor slot of a node: its name, the object that identifies the tensor
    (None when the op saved nothing in this slot) and the tensor's array."""

    __slots__ = ("name", "key", "array", "is_output")

    def __init__(self, name: str, key: object = None, array: np.ndarray | None = None,
                 is_output: bool = False):
        self.name, self.key, self.array, self.is_output = name, key, array, is_output


def is_custom(node) -> bool:
    """True for nodes of user-defined ``autograd.Function`` subclasses."""
    cls = getattr(node, "_forward_cls", None)
    return cls is not None and not cls.__module__.startswith("pygrad.")


def saved_entries(node) -> list[SavedEntry]:
    """The node's saved-tensor slots, in saving order; empty once backward freed them.

    A saved input is identified by the tensor itself (so it is the same picture node as
    that tensor elsewhere, as in torchviz); a saved output, which a node keeps as an array
    only, by its saved record.
    """
    saved = getattr(node, "_saved", None)
    if saved is None:  # the op saved nothing, or backward freed it
        return []
    entries = []
    for i, s in enumerate(saved):
        name = _saved_name(node, i, len(saved))
        if s is None:
            entries.append(SavedEntry(name))
        elif s.tensor is not None:
            entries.append(SavedEntry(name, s.tensor, s.tensor._data, False))
        else:
            entries.append(SavedEntry(name, s, s.data, True))
    return entries


def _saved_name(node, index: int, count: int) -> str:
    meta = _NODES.get(type(node).__name__)
    names = meta.saved if meta is not None else _SAVED_NAMES.get(type(node).__name__)
    if names is not None and len(names) == count:
        return names[index]
    return f"saved_tensors[{index}]" if is_custom(node) else f"saved{index}"


# PyTorch's names for what pygrad's ops keep on their ctx, and what PyTorch keeps that
# pygrad's ops need not (``alpha`` is always 1 here).
_ATTR_NAMES = {"shape": "self_sym_sizes", "dims": "dim", "base": "self"}
_KEEPS_DIMS = frozenset({"PermuteBackward0"})
_ALPHA = frozenset({"AddBackward0", "SubBackward0", "RsubBackward1"})


def node_attributes(node) -> dict:
    """What the op kept on its ctx besides saved tensors, by PyTorch's names where PyTorch
    keeps the same thing (``exponent``, ``dim``, ``self_sym_sizes``...)."""
    if isinstance(node, AccumulateGrad):
        return {}
    name = type(node).__name__
    attrs = {}
    for key, value in getattr(node, "__dict__", {}).items():
        if key.startswith("_") or key in _FRAMEWORK_ATTRS:
            continue
        if not is_custom(node) and not (key == "dims" and name in _KEEPS_DIMS):
            key = _ATTR_NAMES.get(key, key)
        attrs[key] = value
    if name in _ALPHA:
        attrs.setdefault("alpha", 1)
    if name.startswith("MeanBackward") and "self_sym_sizes" in attrs:
        attrs["self_sym_numel"] = int(np.prod(attrs["self_sym_sizes"]))
    return attrs


_RULES = {
    "CloneBackward0": "d(clone(u))/du = 1",
    "ToCopyBackward0": "d(u.to(dtype))/du = 1 (the gradient is cast back to u's dtype)",
    "ViewBackward0": "u.view(shape): the gradient is reshaped back to u's shape",
    "UnsafeViewBackward0": "u.reshape(shape): the gradient is reshaped back to u's shape",
    "ExpandBackward0": "u.expand(shape): the gradient is summed over the expanded dims",
    "PermuteBackward0": "u.permute(dims): the gradient is permuted back",
    "TransposeBackward0": "u.transpose(i, j): the gradient is transposed back",
    "TBackward0": "u.t(): the gradient is transposed back",
    "SelectBackward0": "u[i]: the gradient goes to row i, zeros elsewhere",
    "SliceBackward0": "u[start:stop:step]: the gradient goes to the sliced elements, zeros elsewhere",
    "IndexBackward0": "u[index]: the gradient is added at the indexed elements, zeros elsewhere",
    "UnsqueezeBackward0": "u.unsqueeze(dim): the gradient is squeezed back",
    "SqueezeBackward0": "u.squeeze(): the gradient is reshaped back to u's shape",
    "SqueezeBackward1": "u.squeeze(dim): the gradient is unsqueezed back",
    "MaxBackward0": "u.max(dim): the gradient goes to the first maximum along dim",
    "MinBackward0": "u.min(dim): the gradient goes to the first minimum along dim",
    "CatBackward0": "cat(tensors): each input gets its slice of the gradient",
    "StackBackward0": "stack(tensors): each input gets its index of the gradient",
    "CopySlices": ("an in-place op wrote through a view of x (x[key] = value, x[0].mul_(v)): x keeps the "
                   "gradient outside the view, the op's backward decides it inside"),
    "AsStridedBackward0": "a view of x, retaken after x was changed in place: the gradient goes to the view's region",
    "CopyBackwards": "x.copy_(src): src gets the gradient (cast to its dtype); x's old values none",
    "IndexPutBackward0": "x[index] = value: value gets the gradient at index, x the rest",
    "IndexBackwardBackward0": "the gradient of u[index] differentiated: read back at index",
    "SelectBackwardBackward0": "the gradient of u[i] differentiated: read back at i",
    "SliceBackwardBackward0": "the gradient of u[a:b] differentiated: read back at a:b",
    "GatherBackward0": "u[index] (gather): the gradient is added at the gathered elements",
    "RepeatBackward0": "u.repeat(sizes): the gradients of all the copies are summed",
    "FlipBackward0": "u.flip(dims): the gradient is flipped back",
    "UnbindBackward0": "u.unbind(dim): the pieces' gradients are stacked back (zeros if unused)",
    "SplitBackward0": "u.split(size): the pieces' gradients are joined back (zeros if unused)",
    "SplitWithSizesBackward0": "u.split(sizes): the pieces' gradients are joined back",
    "SqueezeBackward2": "u.squeeze(dims): the gradient is unsqueezed back",
    "SqueezeBackward4": "u.squeeze_(dim): the gradient is unsqueezed back",
    "AliasBackward0": "an alias of u: the gradient passes through unchanged",
    "SgnBackward0": "piecewise constant: d/du = 0 (no gradient flows)",
    "ThresholdBackwardBackward0": "d(relu'(u) * grad): grad_grad = relu'(u) * grad_out,  grad_u = 0",
    "LeakyReluBackwardBackward0": ("d(leaky_relu'(u) * grad): grad_grad = leaky_relu'(u) * grad_out,  "
                                   "grad_u = 0"),
    "ReshapeAliasBackward0": "u.reshape(shape): the gradient is reshaped back to u's shape",
    "NotImplemented": "not differentiable: its backward raises an error",
    "FillBackward2": "u.fill_(number): u's old values get no gradient",
    "FillBackward3": "u.fill_(value): value gets the sum of the gradient, u's old values none",
    "ZeroBackward0": "u.zero_(): u's old values get no gradient",
    "CdistBackward0": "d(||x1_i - x2_j||_p): each pair's norm gradient, summed over the other set",
    "LinalgSolveExBackward0": "X = A^-1 B: grad_B = A^-T grad,  grad_A = -grad_B X^T",
    "LinalgInvExBackward0": "Y = A^-1: grad_A = -Y^T grad Y^T",
    "LinalgDetBackward0": "d det(A)/dA = det(A) A^-T (the cofactor matrix)",
    "LinalgSlogdetBackward0": "d log|det(A)|/dA = A^-T",
    "LinalgCholeskyExBackward0": "A = L L^T: grad_A = L^-T Phi(L^T grad) L^-1, Phi = lower triangle, half diagonal",
    "LinalgQrBackward0": "A = QR: grad_A = [grad_Q + Q sym(triu(grad_R R^T - Q^T grad_Q))] R^-T",
    "LinalgEighBackward0": "A = V diag(L) V^T: grad_A = V (diag(grad_L) + skew(V^T grad_V) / (L_j - L_i)) V^T",
    "LinalgSvdBackward0": "A = U diag(S) Vh: grad_A = U (diag(grad_S) + the U, V terms over S_j^2 - S_i^2) Vh",
    "LinalgPinvBackward0": "pinv(A): the pseudo-inverse's derivative (Golub and Pereyra)",
    "LinalgLstsqBackward0": "X = pinv(A) B: through the pseudo-inverse's derivative",
    "LinalgMatrixExpBackward0": "grad_A = the upper-right block of exp([[A^T, grad], [0, A^T]])",
    "UnsqueezeBackward1": "u.unsqueeze_(dim): the gradient is squeezed back",
    "SqueezeBackward3": "u.squeeze_(): the gradient is reshaped back to u's shape",
    "SqueezeBackward5": "u.squeeze_(dims): the gradient is unsqueezed back",
    "TBackward1": "u.t_(): the gradient is transposed back",
    "TransposeBackward1": "u.transpose_(i, j): the gradient is transposed back",
    "MseLossBackward0": "d mean((u - t)**2)/du = 2*(u - t)/n (no /n for sum or none),  d/dt = -d/du",
    "BinaryCrossEntropyBackward0": "d bce(p, t)/dp = w*(p - t) / max(p*(1 - p), 1e-12)",
    "BinaryCrossEntropyWithLogitsBackward0": "d bce(sigmoid(u), t)/du = w*(sigmoid(u) - t) (with pos_weight: "
                                             "w*((1 - t) - (1 + (pw - 1)*t)*(1 - sigmoid(u))))",
    "NativeLayerNormBackward0": "d layer_norm: grad_u = rstd*(g - mean(g) - xhat*mean(g*xhat)), g = grad*weight",
    "NativeBatchNormBackward0": "d batch_norm per channel: training grad_u = rstd*(g - mean(g) - xhat*mean(g*xhat)), "
                                "eval grad_u = rstd*g, g = grad*weight; grad_w = sum(grad*xhat), grad_b = sum(grad)",
    "ConstantPadNdBackward0": "d pad(u)/du: the gradient cropped back to u's extent (negative padding: "
                              "zero-padded back)",
    "AvgPool2DBackward0": "d avg_pool2d: each window's gradient / divisor is added to every cell of the window",
    "AdaptiveAvgPool2DBackward0": "d adaptive_avg_pool2d: each output cell's gradient / cell area is added to "
                                  "every input cell it averaged",
    "HuberLossBackward0": "d huber(u, t)/du = clamp(u - t, -delta, delta) (/n for mean),  d/dt = -d/du",
    "SmoothL1LossBackward0": "d smooth_l1(u, t)/du = clamp(u - t, -beta, beta)/beta (/n for mean),  d/dt = -d/du",
    "MedianBackward0": "d median(u)/du = 1/k at each of the k elements equal to the median, 0 elsewhere",
    "MedianBackward1": "d median(u, dim): each median's gradient goes to the element at its index",
    "EmbeddingBackward0": "W[index]: each row of W gets the sum of the gradients of the places it was read",
    "EmbeddingDenseBackward0": "the row sums of an embedding's gradient differentiated: read back at index",
    "MaxPool2DWithIndicesBackward0": "d max_pool2d: each window's gradient goes to its (first) maximum",
    "MaxPool2DWithIndicesBackwardBackward0": "max_pool2d's gradient differentiated: read back at each window's maximum",
    "AvgPool2DBackwardBackward0": "avg_pool2d's gradient differentiated: the average pool of the gradient",
    "AdaptiveAvgPool2DBackwardBackward0": "adaptive_avg_pool2d's gradient differentiated: the adaptive average pool "
                                          "of the gradient",
    "AdaptiveMaxPool2DBackward0": "d adaptive_max_pool2d: each output cell's gradient goes to its window's maximum",
    "AdaptiveMaxPool2DBackwardBackward0": "adaptive_max_pool2d's gradient differentiated: read back at each maximum",
    "Im2ColBackward0": "d unfold(u): each column's gradient is added back where its block was (fold)",
    "Col2ImBackward0": "d fold(u): each block's gradient read back as a column (unfold)",
    "SortBackward0": "u.sort(dim): each element gets the gradient of the place it was sorted to",
    "TopkBackward0": "u.topk(k): the k picked elements get their gradients, the others 0",
    "KthvalueBackward0": "u.kthvalue(k): the picked element gets the gradient, the others 0",
    "_PickBackward": "values picked along a dim: each picked element gets its gradient, the others 0",
    "TrilBackward0": "u.tril(k): the gradient passes on and below diagonal k, 0 above",
    "TriuBackward0": "u.triu(k): the gradient passes on and above diagonal k, 0 below",
    "DiagonalBackward0": "u.diagonal(k): the gradient goes to the diagonal, zeros elsewhere",
    "DiagonalBackward0_copy": "diag(u) of a matrix: the gradient goes to the diagonal, zeros elsewhere",
    "DiagonalBackwardBackward0": "the gradient of a diagonal differentiated: its diagonal read back",
    "DiagEmbedBackward0": "diag(v) of a vector: v gets the diagonal of the gradient",
    "TraceBackward0": "d(trace(u))/du = the identity matrix",
    "RollBackward0": "u.roll(shifts): the gradient is rolled back",
    "LinalgCrossBackward0": "d(u x v): grad_u = v x grad,  grad_v = grad x u",
    "SampleBackward": "a random fill: u's old values are overwritten and get no gradient",
    "UniformBackward0": "u.uniform_(): u's old values are overwritten by random numbers and get no gradient",
    "NormalBackward0": "u.normal_(): u's old values are overwritten by random numbers and get no gradient",
    "IndexSelectBackward0": "u.index_select(dim, index): the gradient is added at the selected rows",
    "MaskedSelectBackward0": "u.masked_select(mask): the gradient goes where the mask is true, zeros elsewhere",
    "ScatterBackward0": "u.scatter(dim, index, src): u gets the gradient outside the written places, "
                        "src the gradient gathered at index",
    "ScatterBackward1": "u.scatter(dim, index, value): u gets the gradient outside the written places",
    "ScatterAddBackward0": "u.scatter_add(dim, index, src): u gets the gradient, src the gradient gathered at index",
    "IndexAddBackward0": "u.index_add(dim, index, src): u gets the gradient, src its rows at index",
    "EinsumBackward0": "d einsum: each operand's gradient is the einsum of the gradient with the other operands",
}

# Ops whose derivative is a number per element (same shape in and out), so the gradient an
# input receives is the incoming gradient times a local derivative that can be shown (the
# op table's nodes say so themselves).
_ELEMENTWISE = frozenset({
    "CloneBackward0", "SgnBackward0",
})


def derivative_rule(node) -> str | None:
    """The local derivative rule of the node's op, or None when pygrad does not know it."""
    if isinstance(node, AccumulateGrad):
        return "adds the incoming gradient into the leaf's .grad"
    meta = _NODES.get(type(node).__name__)
    rule = meta.rule if meta is not None and meta.rule is not None else _RULES.get(type(node).__name__)
    if callable(rule):
        try:
            return rule(node)
        except AttributeError:
            return None
    return rule or None


def is_elementwise(node) -> bool:
    name = type(node).__name__
    meta = _NODES.get(name)
    return meta.elementwise if meta is not None else name in _ELEMENTWISE


# An op's output recomputed from what it saved, for nodes whose output tensor is gone.
_RECOMPUTE = {
    "PowBackward0": (("self",), lambda node, a: np.power(a, np.asarray(node.exponent, a.dtype))),
}


def recompute_output(node) -> np.ndarray | None:
    """The node's (first) output computed again from its saved tensors, when they suffice."""
    meta = _NODES.get(type(node).__name__)
    if meta is not None and meta.recompute is not None:
        recipe = (meta.recompute_from, meta.recompute)
    else:
        recipe = _RECOMPUTE.get(type(node).__name__)
    if recipe is None:
        return None
    names, fn = recipe
    saved = {e.name: e.array for e in saved_entries(node) if e.key is not None}
    if not all(n in saved for n in names):
        return None
    with np.errstate(all="ignore"):
        return np.asarray(fn(node, *(saved[n] for n in names)))
