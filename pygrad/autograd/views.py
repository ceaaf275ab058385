"""Differentiable views and in-place changes made through them.

A view op (``view``, ``select``, ``t``, ``expand``, ``x[1:]`` ...) gives its output a
``ViewRecord`` in ``t._view``: the root base (a view of a view points at the base of the
first view, never at the intermediate view) and the steps that rebuild the view from that
base.  The base never refers to its views.

When an in-place op writes through a view (``c[0].mul_(3)``), the base's history changes
as in PyTorch: ``_connect`` calls ``rebase`` and

* the base's ``grad_fn`` becomes a ``CopySlices`` node: the gradient of the base, with the
  view's region replaced by what the in-place op's own backward makes of that region;
* the view's ``grad_fn`` becomes ``AsStridedBackward0``: the view taken of the new base.

Views share their base's version counter, so any in-place change of the storage (through the
base or another view) leaves ``record.version`` behind; ``sync`` then regenerates the view's
``grad_fn`` on top of the base's current history the next time it is used, as PyTorch does
when a view's ``grad_fn`` is read.
"""
from __future__ import annotations

import re

import numpy as np

from . import grad_mode
from .._backend import core as _core
from .._errors import SECOND_BACKWARD
from .function import Function, Node

__all__ = ["ViewFunction", "ViewRecord", "ViewSteps"]

# PyTorch's CreationMeta: how a view was made decides whether it may be modified in place.
DEFAULT, NO_GRAD_MODE, MULTI_OUTPUT_NODE = "default", "no_grad", "multi_output"

VIEW_OF_LEAF_INPLACE = "a view of a leaf Variable that requires grad is being used in an in-place operation."
DETACH_VIEW = ("Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel "
               "(DDP) for training, and gradient_as_bucket_view is set as True, gradients are views of DDP "
               "buckets, and hence detach_() cannot be called on these gradients. To fix this error, please "
               "refer to the Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.")
_NO_GRAD_HINT = (" Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify your "
                 "code by moving both the view and the inplace either both inside the no_grad block (if you "
                 "don't want the inplace to be tracked) or both outside (if you want the inplace to be "
                 "tracked).")
_MULTI_OUTPUT_HINT = (" This view is the output of a function that returns multiple views. Such functions do "
                      "not allow the output views to be modified inplace. You should replace the inplace "
                      "operation by an out-of-place one.")


class ViewSteps:
    """The ``(view Function, args, output index or None)`` steps that rebuild a view from its base,
    in order.  A view of a view shares its parent's steps and adds one link, so a chain of ``n``
    views costs ``O(n)`` to build (a tuple copied at every link would cost ``O(n**2)``).
    """

    __slots__ = ("parent", "step")

    def __init__(self, parent: "ViewSteps | None", step: tuple):
        self.parent, self.step = parent, step

    def __iter__(self):
        steps, link = [], self
        while link is not None:
            steps.append(link.step)
            link = link.parent
        return reversed(steps)


class ViewRecord:
    """What a differentiable view remembers: its root ``base`` and how to rebuild it from there.

    ``steps`` is a ``ViewSteps`` chain, iterated in the order the steps are applied;
    ``version`` is the storage version at which the view's ``grad_fn`` was last made.
    """

    __slots__ = ("base", "steps", "creation", "version")

    def __init__(self, base, steps: tuple, creation: str, version: int):
        self.base, self.steps, self.creation, self.version = base, steps, creation, version

    # -- keeping a view's autograd state current ------------------------------------------------
    def requires_grad(self, view) -> bool:
        """The view's ``requires_grad`` for recording an op, its ``grad_fn`` made current first."""
        self.sync(view)
        return view._requires_grad

    def sync(self, view) -> None:
        """Regenerate the view's ``grad_fn`` if the storage changed in place since it was made."""
        base = self.base
        if base._requires_grad:
            view._requires_grad = True
        elif view._grad_fn is None:
            return
        if self.version == view._version.value:
            return
        self.check(view, indirect=True)
        self.version = view._version.value
        view._grad_fn = AsStridedBackward0(base, view, self.steps)
        view._output_nr = 0
        view._requires_grad = True

    # -- in-place changes -------------------------------------------------------------------------
    def check_inplace(self, view) -> None:
        """PyTorch's rules for writing through a view while a graph is recorded."""
        self.check(view, indirect=False)
        # PyTorch's test is "the view requires grad and its base is a leaf": this also covers a view
        # that was itself made a leaf (``arange(6.).reshape(2, 3).requires_grad_()``) while its
        # base does not require grad, and the views taken of such a leaf.
        base = self.base
        if base._grad_fn is None and (base._requires_grad or view._requires_grad):
            raise RuntimeError(VIEW_OF_LEAF_INPLACE)

    def check(self, view, indirect: bool) -> None:
        """Views made in no_grad mode, or by an op with several view outputs, can't be rebased."""
        creation = self.creation
        if creation == DEFAULT:
            return
        grad_fn = view._grad_fn
        modified = ("its base or another view of its base has been" if indirect else "is being")
        op = None if grad_fn is None else re.sub(r"Backward\d*$", "", grad_fn.name())
        if creation == NO_GRAD_MODE or grad_fn is None:
            prefix = ("A view was created in" if grad_fn is None else
                      f"Output {view._output_nr} of {op} is a view of a view which was created in")
            message = f"{prefix} no_grad mode and {modified} modified inplace with grad mode enabled."
        else:
            message = f"Output {view._output_nr} of {op} is a view and {modified} modified inplace."
        message += _MULTI_OUTPUT_HINT if creation == MULTI_OUTPUT_NODE else _NO_GRAD_HINT
        raise RuntimeError(message)

    def rebase(self, view, node) -> None:
        """``node`` (an in-place op) just wrote through ``view``: move it into the base's history."""
        base = self.base
        copy = CopySlices(base, self.steps, node)
        base._grad_fn = copy
        base._output_nr = 0
        base._requires_grad = True
        self.version = view._version.value
        view._grad_fn = AsStridedBackward0(base, view, self.steps)
        view._output_nr = 0


class ViewFunction(Function):
    """A Function whose outputs are views of its first argument (they get a ``ViewRecord``)."""

    @classmethod
    def apply(cls, x, *args):
        out = _function_apply(cls, x, *args)
        parent = x._view
        base, steps, creation = (x, None, DEFAULT) if parent is None else (parent.base, parent.steps,
                                                                            parent.creation)
        enabled = grad_mode._state.enabled
        version = x._version.value
        # PyTorch's propagation: a view made now is marked by how it was made, else inherits its parent's mark.
        if type(out) is tuple:
            made = MULTI_OUTPUT_NODE if enabled else NO_GRAD_MODE
            for i, o in enumerate(out):
                _record(o, base, ViewSteps(steps, (cls, args, i)), made, version)
        else:  # (_record's work, inline: a view op's common case)
            out._view = ViewRecord(base, ViewSteps(steps, (cls, args, None)), creation if enabled else NO_GRAD_MODE,
                                   version)
            if base._requires_grad:
                out._requires_grad = True
        return out


_function_apply = Function.apply.__func__


def _record(out, base, steps, creation, version) -> None:
    out._view = ViewRecord(base, steps, creation, version)
    if base._requires_grad:  # PyTorch: a view of a tensor that requires grad requires grad
        out._requires_grad = True


def replay(base, steps):
    """The view ``steps`` describe, taken of ``base`` by the view ops themselves."""
    t = base
    for cls, args, index in steps:
        t = cls.apply(t, *args)
        if index is not None:
            t = t[index]
    return t


class AsStridedBackward0(Node):
    """A view's ``grad_fn`` regenerated on its base: the gradient placed into the base's shape.

    The backward replays the view ops' own backward rules in reverse, so a view that repeats
    elements (``expand``) sums their gradients.
    """

    def __init__(self, base, view, steps):
        super().__init__()
        self._base_data = base._data  # the array, not the tensor: the base may come to refer to this node
        self._steps = steps
        self._next_functions = (base._edge() if base._requires_grad else (None, 0),)
        self._input_meta = ((base._data.shape, base.dtype),)
        self._output_meta = ((view._data.shape, view.dtype),)
        self.needs_input_grad = (True,)

    def apply(self, grad):
        contexts = []
        t = _core.wrap(self._base_data)
        for cls, args, index in self._steps:  # rebuild each step's ctx (shapes, keys) on the base
            ctx = cls._backward_cls()
            ctx.needs_input_grad = (True,) + (False,) * len(args)
            out = cls.forward(ctx, t, *args)
            shapes = None if index is None else tuple(o._data.shape for o in out)
            contexts.append((cls, ctx, index, shapes))
            t = out if index is None else out[index]
        for cls, ctx, index, shapes in reversed(contexts):
            if index is None:
                grads = cls.backward(ctx, grad)
            else:
                grads = cls.backward(ctx, *(grad if i == index else _core.wrap(np.zeros(s, grad._data.dtype))
                                            for i, s in enumerate(shapes)))
            grad = grads[0] if isinstance(grads, tuple) else grads
        return (grad,)


class CopySlices(Node):
    """The base's ``grad_fn`` after an in-place op ``fn`` wrote through one of its views.

    Edges: the base's previous history, then ``fn``'s edges for its other inputs.  Backward:
    the base's gradient passes through, except in the view's region, which gets what ``fn``'s
    backward returns for its target.
    """

    _qualified_name = "torch::autograd::CopySlices"

    def __init__(self, base, steps, fn):
        super().__init__()
        self._steps = steps
        self._fn = fn
        edge = base._edge() if base._requires_grad else (None, 0)
        self._next_functions = (edge,) + tuple(fn.next_functions[1:])
        meta = (base._data.shape, base.dtype) if base._requires_grad else None
        self._input_meta = (meta,) + tuple(fn._input_meta[1:])
        self._output_meta = ((base._data.shape, base.dtype),)
        self.needs_input_grad = (edge[0] is not None,) + tuple(fn.needs_input_grad[1:])

    def apply(self, grad):
        if self._freed:
            raise RuntimeError(SECOND_BACKWARD)
        building = grad_mode._state.enabled
        result = grad.clone() if building else _core.wrap(grad._data.copy())
        region = replay(result, self._steps)
        grad_slice = region.clone() if building else _core.wrap(region._data.copy())
        res = self._fn.apply(grad_slice)
        if res[0] is None:
            region.zero_()
        else:
            region.copy_(res[0])
        return (result,) + tuple(res[1:])

    def _release(self) -> None:
        self._fn._release()
        self._freed = self._fn._freed
