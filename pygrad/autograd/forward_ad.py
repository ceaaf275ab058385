"""Forward-mode automatic differentiation, as ``torch.autograd.forward_ad``.

Inside ``dual_level()``, ``make_dual(primal, tangent)`` gives a tensor that carries a tangent
(the direction of a Jacobian-vector product).  Every op applied to dual tensors computes the
tangent of its outputs from its inputs' tangents by its Function's ``jvp(ctx, *tangents)``:
for the op table's entries that rule is generated from the table (``ops/_opdef.py``), the
hand-written Functions define it beside their ``backward``, and a user's ``autograd.Function``
defines it as in PyTorch (with ``ctx.save_for_forward``).

The tangents live in the level, keyed by tensor (the tensors themselves are unchanged), so
leaving the level drops them all.  Ops reach this module only while a level is open: entering
one puts ``apply`` in ``op_observers``, the list ``Function.apply`` already checks, so ops cost
nothing more when no level is open.

Tangent rules are ordinary tensor code run with grad mode as the caller has it, so tangents
carry a graph (reverse-over-forward) and a backward pass taken with ``create_graph=True`` on
dual tensors carries tangents (forward-over-reverse: Hessian-vector products).
"""
from __future__ import annotations

import contextlib
import re
import threading
import weakref
from typing import NamedTuple

import numpy as np

from . import op_observers
from .._backend import core as _core

__all__ = ["UnpackedDualTensor", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual",
           "dual_level"]

_Tensor = _core.TensorBase

NO_LEVEL = ("Trying to create a dual Tensor for forward AD but no level exists, make sure to "
            "enter_dual_level() first.")
NESTED = "Nested forward mode AD is not supported at the moment"
CUSTOM_NO_JVP = ("You must implement the jvp function for custom autograd.Function to use it with forward "
                 "mode AD.")


def not_implemented(name: str) -> NotImplementedError:
    return NotImplementedError(
        f"Trying to use forward AD with {name} that does not support it because it has not been implemented "
        "yet.\nPlease file an issue to PyTorch at https://github.com/pytorch/pytorch/issues/new?template="
        "feature-request.yml so that we can prioritize its implementation or submit a PR adding the "
        "implementation to derivatives.yaml")


def _size_text(shape) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


def _check_tangent_size(primal, tangent) -> None:
    if primal._data.shape != tangent._data.shape:
        raise RuntimeError("Trying to set a forward gradient that has a different size than that of the original "
                           f"Tensor, this is not supported. Tensor is of size {_size_text(primal._data.shape)} "
                           f"while the given forward gradient is of size {_size_text(tangent._data.shape)}.")


class _Level:
    """One dual level: the tangent of each dual tensor, by identity, dropped with the tensor."""

    def __init__(self, index: int):
        self.index = index
        self._tangents: dict = {}

    def get(self, t):
        entry = self._tangents.get(id(t))
        if entry is not None and entry[0]() is t:
            return entry[1]
        return None

    def set(self, t, tangent) -> None:
        key = id(t)
        table = self._tangents

        def drop(ref, key=key, table=table):
            entry = table.get(key)
            if entry is not None and entry[0] is ref:
                del table[key]
        table[key] = (weakref.ref(t, drop), tangent)


_levels: list = []  # the open level (PyTorch allows one at a time, for every thread)


class _Suspended(threading.local):
    """While a thread runs an op's forward and tangent rule, the ops they call compute no tangents."""
    on = False


_suspended = _Suspended()


def _current(level=None) -> _Level | None:
    """The open level, if ``level`` (None: the current one) names it."""
    if not _levels or (level is not None and level != _levels[-1].index):
        return None
    return _levels[-1]


def enter_dual_level() -> int:
    """Open a dual level and return its index (PyTorch's ``enter_dual_level``)."""
    if _levels:
        raise RuntimeError(NESTED)
    _levels.append(_Level(len(_levels)))
    # First in the chain: an op on dual tensors is seen as the caller wrote it, before a transform
    # opened earlier (vmap) rewrites it, and its forward runs here (a batched primal, which has no
    # values of its own, then fails loudly instead of losing its tangent).
    op_observers.observers.insert(0, apply)
    return _levels[-1].index


def exit_dual_level(*, level=None) -> None:
    """Close the level: every tangent it holds is dropped."""
    if not _levels:
        raise RuntimeError("Dual level must be a positive number.")
    if level is not None and level != _levels[-1].index:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was created. This "
                           "is not supported.")
    _levels.pop()
    op_observers.remove(apply)


class dual_level(contextlib.ContextDecorator):
    """``with dual_level():`` the scope in which dual tensors carry tangents."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc) -> None:
        exit_dual_level()


class UnpackedDualTensor(NamedTuple):
    primal: object
    tangent: object


def make_dual(tensor, tangent, *, level=None):
    """A tensor with ``tensor``'s value (a view of it) carrying ``tangent`` in the current level."""
    lvl = _current(level)
    if lvl is None:
        raise RuntimeError(NO_LEVEL if level is None else "Invalid level given to _make_dual")
    if not (isinstance(tensor, _Tensor) and isinstance(tangent, _Tensor)):
        raise TypeError("make_dual(): expected Tensor arguments, got "
                        f"{type(tensor).__name__} and {type(tangent).__name__}")
    if not tensor.dtype.is_floating_point:
        raise ValueError(f"Expected primal to be floating point or complex, but got: {tensor.dtype}")
    if not tangent.dtype.is_floating_point:
        raise ValueError(f"Expected tangent to be floating point or complex, but got: {tangent.dtype}")
    _check_tangent_size(tensor, tangent)
    if hasattr(tensor, "_bdim"):  # a sample of a vmap batch: its ops are rewritten before a tangent is seen
        raise NotImplementedError("make_dual: forward-mode AD of a tensor batched by vmap is not supported "
                                  "(vmap over jvp or jacfwd with batched primals); batch the tangents only, or "
                                  "call jvp/jacfwd outside vmap")
    with _no_tangents():  # a view (an op, so a batched tensor under vmap stays one)
        dual = tensor.view_as(tensor)
    lvl.set(dual, tangent)
    return dual


def unpack_dual(tensor, *, level=None) -> UnpackedDualTensor:
    """``(primal, tangent)``: a view of ``tensor`` without tangent, and its tangent (None when it has none)."""
    lvl = _current(level)
    tangent = lvl.get(tensor) if lvl is not None and isinstance(tensor, _Tensor) else None
    if tangent is None:
        return UnpackedDualTensor(tensor, None)
    with _no_tangents():
        primal = tensor.view_as(tensor)
    return UnpackedDualTensor(primal, tangent)


def tangent_of(tensor):
    """The tangent ``tensor`` carries in the open level, or None (for printing and the transforms)."""
    if not _levels or _suspended.on:
        return None
    return _levels[-1].get(tensor)


def detach_keeping_tangent(tensor):
    """``tensor.detach()``, keeping its tangent (detached too) in the open level: what the reverse
    transforms return, so forward mode can run over them."""
    tangent = tangent_of(tensor)
    if tangent is None:
        return tensor.detach()
    return make_dual(tensor.detach(), tangent.detach())


@contextlib.contextmanager
def _no_tangents():
    prev, _suspended.on = _suspended.on, True
    try:
        yield
    finally:
        _suspended.on = prev


# -- the op path -----------------------------------------------------------------------------

def apply(cls, args, kwargs, call):
    """The op observer of an open level: run the op, then set its outputs' tangents."""
    if _suspended.on:
        return call()
    level = _levels[-1]
    tangents = [level.get(a) if isinstance(a, _Tensor) else None for a in args]
    if all(t is None for t in tangents):
        return call()
    inplace_of = getattr(cls, "_inplace_of", None)
    if inplace_of is not None:  # x.op_(y): the out-of-place op's tangent becomes x's
        result = apply(inplace_of, args, kwargs, lambda: inplace_of.apply(*args, **kwargs))
        tangent = level.get(result)
        with _no_tangents():
            out = call()
        if tangent is not None:
            _write_tangent(level, out, tangent)
        return out
    jvp = cls.jvp
    builtin = cls.__module__.startswith("pygrad.")
    if jvp is _no_jvp:
        if builtin:
            raise not_implemented(forward_name(cls))
        raise NotImplementedError(CUSTOM_NO_JVP)
    if not builtin:  # a user's Function gets zeros for the tensor inputs without tangent, as in PyTorch
        tangents = [_zeros_like(a) if t is None and isinstance(a, _Tensor) else t for a, t in zip(args, tangents)]
    ctx = cls._backward_cls()
    with _no_tangents():
        outputs = _function.apply_function(cls, args, kwargs, ctx)
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        ctx._fw_args, ctx._fw_outputs = args, outs
        saved_for_forward = ctx.__dict__.pop("_saved_for_forward", None)
        if saved_for_forward is not None:  # what jvp reads as ctx.saved_tensors
            kept = ctx._saved, ctx._to_save
            ctx._saved, ctx._to_save = None, saved_for_forward
        try:
            out_tangents = jvp(ctx, *tangents)
        finally:
            del ctx._fw_args, ctx._fw_outputs
            if saved_for_forward is not None:
                ctx._saved, ctx._to_save = kept
    if not isinstance(out_tangents, tuple):
        out_tangents = (out_tangents,)
    if len(out_tangents) != len(outs):
        raise RuntimeError(f"{cls.__name__}.jvp returned {len(out_tangents)} tangents for {len(outs)} outputs")
    for o, t in zip(outs, out_tangents):
        if t is None or not isinstance(o, _Tensor) or not o.dtype.is_floating_point:
            continue
        _check_tangent_size(o, t)
        if any(o is a for a in args):  # written in place
            _write_tangent(level, o, t)
        else:
            level.set(o, t)
    _keep_saved_tangents(ctx, outs, level)
    return outputs


def _write_tangent(level, target, tangent) -> None:
    """An in-place op's new tangent, written into the tangent ``target`` has, as PyTorch does: the
    tangent of a view is a view of its base's tangent, so writing through a view updates the base's."""
    old = level.get(target)
    if old is None and target._view is not None:
        base = target._view.base
        base_tangent = level.get(base)
        if base_tangent is None:
            base_tangent = _zeros_like(base)
            level.set(base, base_tangent)
        with _no_tangents():
            old = _views.replay(base_tangent, target._view.steps)
        level.set(target, old)
    if (old is None or type(old) is not type(tangent) or old._data.shape != target._data.shape
            or not old._data.flags.writeable):  # (a tangent batched by vmap holds no values to write)
        level.set(target, tangent)
        return
    np.copyto(old._data, tangent._data, casting="unsafe")


def _keep_saved_tangents(ctx, outs, level) -> None:
    """An output saved for backward is rebuilt from its array when unpacked: keep its tangent with
    it, so a backward pass run with ``create_graph`` sees it (forward-over-reverse)."""
    saved = ctx._saved
    if not saved:
        return
    for i, s in enumerate(saved):
        if s is None or s.tensor is not None:
            continue
        for o in outs:
            if isinstance(o, _Tensor) and o._data is s.data:
                tangent = level.get(o)
                if tangent is not None:
                    saved[i] = _DualSaved.of(s, tangent)
                break


def _zeros_like(t):
    return type(t)._wrap(np.zeros(t._data.shape, t._data.dtype))


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def forward_name(cls) -> str:
    """The op name forward-mode errors give: the table's name, else the node's without ``Backward``."""
    op = getattr(cls, "_op", None)
    if op is not None:
        return op.aten or op.name
    node = re.sub(r"Backward\d*$", "", cls._backward_cls.__name__)
    return _CAMEL.sub("_", node).lower()


from . import function as _function, views as _views  # noqa: E402  (function.py imports nothing from here at import time)

_no_jvp = _function.Function.jvp


class _DualSaved(_function.SavedTensor):
    """A saved output that gets its tangent back when rebuilt (while its level is open)."""

    __slots__ = ("_tangent", "_level")

    @classmethod
    def of(cls, saved, tangent):
        new = cls.__new__(cls)
        for name in ("data", "version", "saved_version", "output_nr", "requires_grad", "tensor"):
            setattr(new, name, getattr(saved, name))
        new._tangent = tangent
        new._level = weakref.ref(_levels[-1])
        return new

    def _rebuild(self, node):
        t = super()._rebuild(node)
        level = self._level()
        if level is not None and _levels and _levels[-1] is level:
            level.set(t, self._tangent)
        return t


# -- rules shared by the hand-written Functions ---------------------------------------------------

def _floating(a) -> bool:
    return isinstance(a, _Tensor) and a._data.dtype.kind == "f"


def linear_jvp(ctx, *tangents):
    """The tangent of an op linear in its floating tensor arguments (shape ops, sum, indexing, cat):
    the op itself applied to their tangents (PyTorch's ``auto_linear``)."""
    args = [t if t is not None else _zeros_like(a) if _floating(a) else a
            for a, t in zip(ctx._fw_args, tangents)]
    return ctx._forward_cls.apply(*args)


def multilinear_jvp(ctx, *tangents):
    """The tangent of an op linear in each floating tensor argument separately (matmul, conv without
    bias): the sum over the arguments of the op with that one replaced by its tangent."""
    total = None
    for i, t in enumerate(tangents):
        if t is None:
            continue
        args = list(ctx._fw_args)
        args[i] = t
        term = ctx._forward_cls.apply(*args)
        total = term if total is None else total + term
    return total


def zero_jvp(ctx, *tangents):
    """A piecewise-constant op: zero tangents (sign, rounding, comparisons' floating results)."""
    outs = tuple(_zeros_like(o) if _floating(o) else None for o in ctx._fw_outputs)
    return outs if len(outs) > 1 else outs[0]


def tangent_sum(*terms):
    """The sum of the terms that are not None (None when all are): a tangent from per-input parts."""
    total = None
    for t in terms:
        if t is not None:
            total = t if total is None else total + t
    return total


def weighted_jvp(ctx, *tangents):
    """The tangent of an op whose backward scales the output gradient by a local derivative ``w``
    per input element (elementwise ops, reductions, elementwise losses): ``w * t`` summed over the
    reduced dims, with ``w`` from the op's own backward of ones (the derivative is written once)."""
    outs = ctx._fw_outputs
    out = outs[0]
    ones = type(out)._wrap(np.ones(out._data.shape, out._data.dtype))
    kept = ctx.needs_input_grad
    ctx.needs_input_grad = tuple(t is not None for t in tangents)
    try:
        weights = ctx._forward_cls.backward(ctx, ones, *(None,) * (len(outs) - 1))
    finally:
        ctx.needs_input_grad = kept
    if not isinstance(weights, tuple):
        weights = (weights,)
    total = tangent_sum(*(w * t for w, t in zip(weights, tangents) if t is not None and w is not None))
    if total is not None and total._data.shape != out._data.shape:
        if out._data.ndim == 0:
            total = total.sum()
        else:
            dims = ctx.dims if hasattr(ctx, "dims") else ctx.dim  # an int, or a tuple (NormBackward1's)
            total = total.sum(dims if isinstance(dims, tuple) else (dims,), keepdim=ctx.keepdim)
    return (total,) + (None,) * (len(outs) - 1) if len(outs) > 1 else total
