"""Forward-mode transforms of ``torch.func``: ``jvp``, ``jacfwd`` and ``hessian``.

``jvp`` runs the function once on dual tensors (``autograd.forward_ad``).  ``jacfwd`` builds the
Jacobian a column at a time: one forward pass per input element, so it is the cheaper way for a
function with few inputs and many outputs (a tall Jacobian); reverse mode (``jacrev``) takes
one backward pass per output element and wins for the opposite (wide) shape.  ``hessian`` is
``jacfwd(jacrev(f))``: forward mode over the reverse-mode gradient.

Arguments and results may be nested tuples, lists and dicts of tensors, as in PyTorch.
"""
from __future__ import annotations

import functools

import numpy as np

from .. import creation
from ..autograd import forward_ad as fwAD
from ..autograd import grad_mode
from ..autograd.engine import grad as _autograd_grad
from ..tensor import Tensor
from ._grad import _check_argnums
from ._pytree import TreeSpec, tree_flatten, tree_unflatten

__all__ = ["jvp", "jacfwd", "hessian"]


# -- jvp -------------------------------------------------------------------------------------------

def _jvp_error(text: str) -> RuntimeError:
    return RuntimeError(f"jvp(f, primals, tangents): {text}")


def jvp(func, primals, tangents, *, strict: bool = False, has_aux: bool = False):
    """``(func(*primals), J·tangents)`` (and ``aux`` with ``has_aux``), in one forward pass."""
    if strict:
        raise RuntimeError("jvp(f, primals, tangents): strict=True is not supported.")
    if not isinstance(primals, tuple):
        raise _jvp_error("Expected primals to be a tuple. E.g. it should be valid to call f(*primals).")
    flat_primals, primals_spec = tree_flatten(primals)
    flat_tangents, tangents_spec = tree_flatten(tangents)
    if primals_spec != tangents_spec:
        raise _jvp_error("Expected primals and tangents to have the same python structure. For example, if "
                         "primals is a tuple of 3 tensors, tangents also must be. Got primals with structure "
                         f"{primals_spec!r} and tangents with structure {tangents_spec!r}")
    if not flat_primals:
        raise _jvp_error("Expected primals to contain at least one Tensor.")
    for name, values in (("primals", flat_primals), ("tangents", flat_tangents)):
        for v in values:
            if not isinstance(v, Tensor):
                raise _jvp_error(f"Expected {name} to only contain Tensors, got {type(v)}")
    out, out_tangents, aux = _dual_call(func, flat_primals, flat_tangents, primals_spec, has_aux)
    return (out, out_tangents, aux) if has_aux else (out, out_tangents)


def _dual_call(func, flat_primals, flat_tangents, primals_spec, has_aux: bool):
    """Run ``func`` on dual tensors; its outputs (as given) and their tangents (zeros where none)."""
    with fwAD.dual_level():
        duals = [fwAD.make_dual(p, t) for p, t in zip(flat_primals, flat_tangents)]
        result = func(*tree_unflatten(duals, primals_spec))
        aux = None
        if has_aux:
            if not (isinstance(result, tuple) and len(result) == 2):
                raise _jvp_error("output of function with has_aux=True must be a tuple of (output, aux)")
            result, aux = result
        flat_out, out_spec = tree_flatten(result)
        for o in flat_out:
            if not isinstance(o, Tensor):
                raise _jvp_error(f"expected f(*primals) to return only tensors, got unsupported type {type(o)}")
        primals_out, tangents_out = [], []
        for o in flat_out:
            primal, tangent = fwAD.unpack_dual(o)
            primals_out.append(primal)
            tangents_out.append(_zeros(o) if tangent is None else tangent)
    return tree_unflatten(primals_out, out_spec), tree_unflatten(tangents_out, out_spec), aux


def _zeros(t: Tensor) -> Tensor:
    return Tensor._wrap(np.zeros(t._data.shape, t._data.dtype))


# -- jacfwd ----------------------------------------------------------------------------------------

_RANDOMNESS = ("error", "different", "same")


def jacfwd(func, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """The Jacobian of ``func`` with respect to the arguments ``argnums``, by forward mode: one
    Jacobian-vector product per input element (a column each)."""
    if randomness not in _RANDOMNESS:
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")

    @functools.wraps(func)
    def wrapper(*args):
        numbers = _positions(argnums, len(args))
        flat_diff, diff_spec = tree_flatten(tuple(args[i] for i in numbers))
        for x in flat_diff:
            if not isinstance(x, Tensor):
                raise RuntimeError(f"jacfwd: Expected all differentiable inputs to be Tensors, got {type(x)}")

        def call(*inputs):
            full = list(args)
            for i, x in zip(numbers, tree_unflatten(list(inputs), diff_spec)):
                full[i] = x
            return func(*full)

        result = call(*flat_diff)
        out, aux = result if has_aux else (result, None)
        flat_out, out_spec = tree_flatten(out)
        sizes = [x._data.size for x in flat_diff]
        columns = _columns(call, flat_diff, sizes, has_aux, randomness) if sum(sizes) else None
        blocks = []
        for m, o in enumerate(flat_out):
            per_input, start = [], 0
            for x, n in zip(flat_diff, sizes):
                shape = o._data.shape + x._data.shape
                if columns is None:
                    per_input.append(Tensor._wrap(np.zeros(shape, o._data.dtype)))
                else:
                    per_input.append(columns[m].narrow(0, start, n).movedim(0, -1).reshape(shape))
                start += n
            per_input = tree_unflatten(per_input, diff_spec)
            blocks.append(per_input if isinstance(argnums, tuple) else per_input[0])
        jac = tree_unflatten(blocks, out_spec)
        return (jac, aux) if has_aux else jac
    return wrapper


def _positions(argnums, nargs: int) -> tuple[int, ...]:
    _check_argnums(argnums, nargs)
    return tuple(a % nargs for a in ((argnums,) if isinstance(argnums, int) else argnums))


def _columns(call, flat_inputs, sizes, has_aux: bool, randomness: str) -> list:
    """Per output, its tangents along every unit tangent of the inputs (their elements in order),
    stacked on a leading dim: one forward-mode pass per input element."""
    from ..ops.shape import stack
    spec = TreeSpec(tuple, None, [None] * len(flat_inputs))
    state = creation.generator().bit_generator.state if randomness == "same" else None
    per_column = []
    for k, (x, n) in enumerate(zip(flat_inputs, sizes)):
        for j in range(n):
            if state is not None:  # "same": every column sees the random numbers the first one drew
                creation.generator().bit_generator.state = state
            units = [Tensor._wrap(np.zeros(y._data.shape, y._data.dtype)) for y in flat_inputs]
            units[k]._data.reshape(-1)[j] = 1
            per_column.append(tree_flatten(_dual_call(call, flat_inputs, units, spec, has_aux)[1])[0])
    return [stack(list(tangents)) for tangents in zip(*per_column)]


# -- hessian ---------------------------------------------------------------------------------------

def hessian(func, argnums=0):
    """The Hessian of a scalar ``func``: ``jacfwd(jacrev(func, argnums), argnums)``."""
    return jacfwd(_jacrev(func, argnums), argnums)


def _jacrev(func, argnums):
    """The reverse-mode Jacobian, one backward pass (with ``create_graph``) per output element,
    keeping the inputs' tangents, so forward mode can run over it."""
    @functools.wraps(func)
    def wrapper(*args):
        numbers = _positions(argnums, len(args))
        full = list(args)
        with grad_mode.enable_grad():
            inputs = []
            for i in numbers:
                x = args[i]
                tangent = fwAD.tangent_of(x)
                leaf = x.detach().requires_grad_(True)
                full[i] = leaf if tangent is None else fwAD.make_dual(leaf, tangent)
                inputs.append(full[i])
            out = func(*full)
            rows = []
            for j in range(out._data.size):
                unit = _zeros(out)
                unit._data.reshape(-1)[j] = 1
                grads = (_autograd_grad(out, inputs, unit, retain_graph=True, create_graph=True, allow_unused=True)
                         if out.requires_grad else (None,) * len(inputs))
                rows.append([_zeros(x) if g is None else g for g, x in zip(grads, inputs)])
            from ..ops.shape import stack
            blocks = tuple(stack([r[k] for r in rows]).reshape(out._data.shape + x._data.shape) if rows else
                           Tensor._wrap(np.zeros(out._data.shape + x._data.shape, out._data.dtype))
                           for k, x in enumerate(inputs))
        if not any(args[i].requires_grad for i in numbers):  # the graph was ours: not the caller's
            blocks = tuple(fwAD.detach_keeping_tangent(b) for b in blocks)
        return blocks if isinstance(argnums, tuple) else blocks[0]
    return wrapper
