"""Higher-level differentiation: ``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``vhp``, ``hvp``.

Signatures and results follow ``torch.autograd.functional``: a single tensor in gives a
single tensor out, tuples give tuples; results are detached unless ``create_graph``;
with ``strict=True`` an output that does not depend on an input is an error, otherwise
its gradient is zeros.  ``jvp`` runs once in forward mode (``autograd.forward_ad``);
``jacobian(..., strategy="forward-mode")`` takes a column per input element in forward mode
and ``hessian(..., outer_jacobian_strategy="forward-mode")`` runs forward mode over the
reverse-mode gradient (``pygrad.func``).
"""
from __future__ import annotations

import numpy as np

from .engine import grad as _grad
from . import forward_ad, grad_mode

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


def _tensor_cls():
    from ..tensor import Tensor
    return Tensor


def _as_tuple(value, arg_name: str, fn_name: str):
    """(was it a tuple, the values as a tuple), checking that they are all tensors."""
    Tensor = _tensor_cls()
    is_tuple = isinstance(value, tuple)
    values = value if is_tuple else (value,)
    for i, v in enumerate(values):
        if not isinstance(v, Tensor):
            if is_tuple:
                raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of "
                                f"Tensors but the value at index {i} has type {type(v)}.")
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors "
                            f"but the given {arg_name} has type {type(v)}.")
    return is_tuple, values


def _prepare_inputs(inputs, create_graph: bool):
    """Inputs that require grad: connected to the caller's graph only with ``create_graph``."""
    out = []
    for x in inputs:
        if create_graph and x.requires_grad:
            out.append(x.view(x.shape))
        else:
            out.append(x.detach().requires_grad_(True))
    return tuple(out)


def _finish(values, create_graph: bool):
    """Detach results unless the caller builds a graph of them."""
    if create_graph:
        return tuple(values)
    return tuple(None if v is None else v.detach() for v in values)


def _fill_unused(grads, refs, strict: bool, message):
    Tensor = _tensor_cls()
    out = []
    for i, (g, ref) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise RuntimeError(message(i))
            g = Tensor._wrap(np.zeros(ref._data.shape, ref._data.dtype))
        out.append(g)
    return tuple(out)


def _check_v(v, outputs, fn_name: str, what: str, outputs_tuple: bool = True):
    Tensor = _tensor_cls()
    if v is None:
        if len(outputs) != 1 or outputs[0]._data.size != 1:
            raise RuntimeError(f"The vector v can only be None if the {what} a single Tensor with a "
                               "single element.")
        return (Tensor._wrap(np.ones(outputs[0]._data.shape, outputs[0]._data.dtype)),)
    _, v = _as_tuple(v, "v", fn_name)
    if len(v) != len(outputs):
        if not outputs_tuple:
            raise RuntimeError("The given v should contain a single Tensor.")
        raise RuntimeError(f"v is a tuple of invalid length: should be {len(outputs)} but got {len(v)}.")
    for i, (a, b) in enumerate(zip(v, outputs)):
        if a.shape != b.shape:
            raise RuntimeError(f"Entry {i} in v has invalid size: should be {b.shape} but got {a.shape}.")
    return v


def _outputs(func, inputs, fn_name: str):
    with grad_mode.enable_grad():
        result = func(*inputs)
    is_tuple, outs = _as_tuple(result, "outputs of the user-provided function", fn_name)
    return is_tuple, outs


def _unpack(is_tuple: bool, values):
    return values if is_tuple else values[0]


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), vᵀ·J): the vector-Jacobian product."""
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
    with grad_mode.enable_grad():
        inputs = _prepare_inputs(inputs, create_graph)
        out_tuple, outs = _outputs(func, inputs, "vjp")
        v = _check_v(v, outs, "vjp", "user-provided function returns", out_tuple)
        used = [o for o in outs if o.requires_grad]
        grads = (_grad([o for o in outs if o.requires_grad], inputs,
                       [vi for o, vi in zip(outs, v) if o.requires_grad], create_graph=create_graph,
                       allow_unused=True) if used else (None,) * len(inputs))
    grads = _fill_unused(grads, inputs, strict, lambda i: (
        f"The output of the user-provided function is independent of input {i}. This is not allowed in "
        "strict mode."))
    return _unpack(out_tuple, _finish(outs, create_graph)), _unpack(inputs_tuple, _finish(grads, create_graph))


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), J·v): the Jacobian-vector product, in one forward-mode pass (dual tensors)."""
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
    v = _check_v(v, inputs, "jvp", "input to the user-provided function is", inputs_tuple)
    with grad_mode.enable_grad():
        inputs = _prepare_inputs(inputs, create_graph)
        with forward_ad.dual_level():
            duals = tuple(forward_ad.make_dual(x, vi) for x, vi in zip(inputs, v))
            out_tuple, outs = _outputs(func, duals, "jvp")
            unpacked = [forward_ad.unpack_dual(o) for o in outs]
    outs = tuple(u.primal for u in unpacked)
    result = _fill_unused([u.tangent for u in unpacked], outs, strict, lambda i: (
        f"The output {i} of the user-provided function is independent of the inputs. This is not allowed "
        "in strict mode."))
    return _unpack(out_tuple, _finish(outs, create_graph)), _unpack(out_tuple, _finish(result, create_graph))


def _jacobian_block(out, inp, rows, create_graph):
    """d out / d inp shaped ``out.shape + inp.shape`` from the per-element gradient rows."""
    Tensor = _tensor_cls()
    if not rows:
        return Tensor._wrap(np.zeros(out._data.shape + inp._data.shape, out._data.dtype))
    if create_graph and any(r.requires_grad for r in rows):
        # Row j placed by a constant one-hot column: stacking from differentiable ops only.
        n = len(rows)
        stacked = None
        for j, r in enumerate(rows):
            column = np.zeros((n, 1), r._data.dtype)
            column[j] = 1
            term = Tensor._wrap(column) * r.reshape(1, -1)
            stacked = term if stacked is None else stacked + term
    else:
        stacked = Tensor._wrap(np.stack([r._data.reshape(-1) for r in rows]))
    return stacked.reshape(out._data.shape + inp._data.shape)


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
             strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: one block per (output, input) pair."""
    Tensor = _tensor_cls()
    if strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
                         'function has more outputs than inputs, "forward-mode" tends to be more performant. '
                         'Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode" and not vectorize:
        raise NotImplementedError("torch.autograd.functional.jacobian: `strategy=\"forward-mode\"` "
                                  "only works when `vectorize=True`.")
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    if strategy == "forward-mode":
        return _forward_jacobian(func, inputs, inputs_tuple, create_graph, strict)
    with grad_mode.enable_grad():
        inputs = _prepare_inputs(inputs, create_graph)
        out_tuple, outs = _outputs(func, inputs, "jacobian")
        blocks = []
        for i, out in enumerate(outs):
            rows = [[] for _ in inputs]
            flat_size = out._data.size
            for j in range(flat_size if out.requires_grad else 0):
                unit = np.zeros(flat_size, out._data.dtype)
                unit[j] = 1
                grads = _grad(out, inputs, Tensor._wrap(unit.reshape(out._data.shape)), retain_graph=True,
                              create_graph=create_graph, allow_unused=True)
                for k, (g, inp) in enumerate(zip(grads, inputs)):
                    if g is None:
                        if strict:
                            raise RuntimeError(f"Output {i} of the user-provided function is independent of "
                                               f"input {k}. This is not allowed in strict mode.")
                        g = Tensor._wrap(np.zeros(inp._data.shape, inp._data.dtype))
                    rows[k].append(g)
            if strict and not out.requires_grad and inputs:
                raise RuntimeError(f"Output {i} of the user-provided function does not require gradients. "
                                   "The outputs must be computed in a differentiable manner from the input "
                                   "when running in strict mode.")
            blocks.append(tuple(_jacobian_block(out, inp, rows[k], create_graph)
                                for k, inp in enumerate(inputs)))
    blocks = [_finish(b, create_graph) for b in blocks]
    if out_tuple:
        return tuple(b if inputs_tuple else b[0] for b in blocks)
    return blocks[0] if inputs_tuple else blocks[0][0]


def _forward_jacobian(func, inputs, inputs_tuple: bool, create_graph: bool, strict: bool):
    """The Jacobian a column per input element, by forward mode (``pygrad.func.jacfwd``)."""
    if strict:
        raise RuntimeError('torch.autograd.functional.jacobian: `strict=True` and `strategy="forward-mode"` are not '
                           'supported together (yet). Please either set `strict=False` or '
                           '`strategy="reverse-mode"`.')
    if create_graph:
        raise NotImplementedError('torch.autograd.functional.jacobian: `create_graph=True` and '
                                  '`strategy="forward-mode"` are not supported together (yet). Please either set '
                                  '`create_graph=False` or `strategy="reverse-mode"`.')
    from ..func._forward import jacfwd
    outputs = []

    def checked(*xs):
        is_tuple, outs = _as_tuple(func(*xs), "outputs of the user-provided function", "jacobian")
        outputs.append(is_tuple)
        return outs
    blocks = jacfwd(checked, argnums=tuple(range(len(inputs))))(*(x.detach() for x in inputs))
    blocks = [tuple(b.detach() for b in per_input) for per_input in blocks]
    if outputs[-1]:
        return tuple(b if inputs_tuple else b[0] for b in blocks)
    return blocks[0] if inputs_tuple else blocks[0][0]


def hessian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
            outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a scalar ``func``: the Jacobian of its gradient."""
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")

    def scalar_func(*inp):
        out = func(*inp)
        is_tuple, outs = _as_tuple(out, "outputs of the user-provided function", "hessian")
        if is_tuple:
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if outs[0]._data.size != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should contain a single "
                               "element")
        return outs[0].reshape(())

    if outer_jacobian_strategy == "forward-mode" and not vectorize:
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian is"
                                  "only implemented for `vectorize=True`.")

    def gradient(*inp):
        return jacobian(scalar_func, inp if inputs_tuple else inp[0], create_graph=True)

    if outer_jacobian_strategy == "forward-mode":  # forward over reverse: the gradient's tangents
        if create_graph:
            raise NotImplementedError('torch.autograd.functional.jacobian: `create_graph=True` and '
                                      '`strategy="forward-mode"` are not supported together (yet). Please either '
                                      'set `create_graph=False` or `strategy="reverse-mode"`.')
        from ..func._forward import hessian as forward_over_reverse
        h = forward_over_reverse(scalar_func, argnums=tuple(range(len(inputs))))(*(x.detach() for x in inputs))
        h = tuple(tuple(block.detach() for block in row) for row in h)
        return h if inputs_tuple else h[0][0]

    return jacobian(gradient, inputs if inputs_tuple else inputs[0], create_graph=create_graph,
                    strict=strict, strategy=outer_jacobian_strategy, vectorize=vectorize)


def _second_order(func, inputs, v, create_graph: bool, strict: bool, fn_name: str):
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
    v = _check_v(v, inputs, fn_name, "input to the user-provided function is", inputs_tuple)
    with grad_mode.enable_grad():
        inputs = _prepare_inputs(inputs, create_graph)
        out_tuple, outs = _outputs(func, inputs, fn_name)
        if out_tuple or outs[0]._data.size != 1:
            raise RuntimeError(f"The function given to {fn_name} should return a single element Tensor")
        out = outs[0]
        first = _grad(out, inputs, create_graph=True, allow_unused=True) if out.requires_grad else (None,) * len(inputs)
        pairs = [(g, vi) for g, vi in zip(first, v) if g is not None and g.requires_grad]
        if pairs:
            result = _grad([g for g, _ in pairs], inputs, [vi for _, vi in pairs], create_graph=create_graph,
                           allow_unused=True)
        else:
            result = (None,) * len(inputs)
    result = _fill_unused(result, inputs, strict, lambda i: (
        f"The hessian of the user-provided function with respect to input {i} is independent of the input. "
        "This is not allowed in strict mode."))
    return _finish(outs, create_graph)[0], _unpack(inputs_tuple, _finish(result, create_graph))


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), vᵀ·H) for a scalar ``func``."""
    return _second_order(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), H·v) for a scalar ``func`` (H is symmetric, so this equals vhp)."""
    return _second_order(func, inputs, v, create_graph, strict, "hvp")
