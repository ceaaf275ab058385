"""Entry points into the backend's engine: ``backward`` and ``grad``.

This module prepares roots and root gradients, chooses grad mode for the pass
(on only with ``create_graph``) and supplies the tensor-level steps the engine calls.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import _backend, _errstate
from .._errors import IMPLICIT_GRAD, NO_GRAD_FN, size_str, warn_once
from . import anomaly_mode, grad_mode
from .function import AccumulateGrad
from ..fusion._state import state as _fusion


reduce_to_shape = None  # ops._util's, bound there (it imports this module)


class _EngineUtil:
    """The tensor-level steps the engine (pure or compiled) delegates."""

    @staticmethod
    def is_accumulate_grad(node) -> bool:
        return type(node) is AccumulateGrad

    @staticmethod
    def add(a, b):
        if grad_mode._state.enabled:
            return a + b
        if type(a) is _fusion.forwarded:  # two edges inside one fused chain: it summed them already
            return a
        return _backend.core.wrap(_backend.kernels.add(a._data, b._data))

    @staticmethod
    def zeros(meta):
        shape, dtype = meta
        return _backend.core.wrap(np.zeros(shape, dtype.numpy))

    # -- anomaly mode: the engine asks once per backward, and only then calls the two steps below
    @staticmethod
    def anomaly_enabled() -> bool:
        return anomaly_mode._state.enabled

    @staticmethod
    def check_anomaly(node, grad_inputs) -> None:
        """After ``node`` ran: raise PyTorch's error if a gradient it returned holds a NaN."""
        anomaly_mode.check_nan(node, grad_inputs)

    @staticmethod
    def report_anomaly(node) -> None:
        """``node`` raised: warn with the stack of the forward call that created it."""
        anomaly_mode.report(node)

    @staticmethod
    def fit_for_post_hooks(node, grad_inputs) -> tuple:
        """The gradients a node's post hooks see: already fitted to the inputs, as in PyTorch."""
        return tuple(g if g is None or edge[0] is None else _EngineUtil.validate(node, i, g)
                     for i, (g, edge) in enumerate(zip(grad_inputs, node.next_functions)))

    @staticmethod
    def validate(node, index: int, grad):
        """Fit ``grad`` to the shape and dtype the input had: the one place broadcasting is undone."""
        if not isinstance(grad, _backend.core.TensorBase):
            raise RuntimeError(f"expected Variable or None (got {type(grad).__name__})")
        shape, dtype = node._input_meta[index]
        data = grad._data
        if data.shape != shape:
            if not expandable(shape, data.shape):
                raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index {index} - "
                                   f"got {list(data.shape)} but expected shape compatible with {list(shape)}")
            if grad_mode._state.enabled:  # differentiable under create_graph
                grad = grad.sum_to_size(shape)
            else:  # the array summed directly
                grad = _backend.core.wrap(reduce_to_shape(data, shape))
        if grad._data.dtype != dtype.numpy:
            grad = grad.to(dtype)
        return grad


CREATE_GRAPH_CYCLE = (
    "Using backward() with create_graph=True will create a reference cycle between the parameter and its "
    "gradient which can cause a memory leak. We recommend using autograd.grad when creating the graph to "
    "avoid this. If you have to use this function, make sure to reset the .grad fields of your parameters "
    "to None after use to break the cycle and avoid the leak.")


# Backward computes inf/nan where the math gives them (0 * inf, x / 0) without NumPy warnings,
# as PyTorch does; anomaly mode is the tool that reports them.


def expandable(shape: tuple, target: tuple) -> bool:
    """Whether ``shape`` broadcasts to ``target`` (so a gradient of ``target`` sums down to it)."""
    lead = len(target) - len(shape)
    if lead < 0:
        return False
    tail = target[lead:]
    return tail == shape or all(s == t or s == 1 for s, t in zip(shape, tail))


def _as_tuple(x) -> tuple:
    if x is None:
        return ()
    if isinstance(x, _backend.core.TensorBase):
        return (x,)
    return tuple(x)


def _roots(outputs, grad_outputs, create_graph: bool):
    """Edges and gradients to start from, checked as PyTorch checks them."""
    grads = _as_tuple(grad_outputs) or (None,) * len(outputs)
    if len(grads) != len(outputs):
        raise RuntimeError(f"got {len(grads)} tensors and {len(outputs)} gradients")
    edges, root_grads = [], []
    for i, (out, g) in enumerate(zip(outputs, grads)):
        if not out._requires_grad:
            raise RuntimeError(NO_GRAD_FN.format(i))
        if g is None:
            if out._data.size != 1:
                raise RuntimeError(IMPLICIT_GRAD)
            data = out._data
            g = out._wrap(np.array(1, data.dtype) if data.shape == () else np.ones(data.shape, data.dtype))
        else:
            if not isinstance(g, _backend.core.TensorBase):
                g = out._wrap(np.asarray(g, out._data.dtype))
            if g._data.shape != out._data.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {size_str(g._data.shape)} "
                                   f"and output[{i}] has a shape of {size_str(out._data.shape)}.")
            if g._data.dtype != out._data.dtype:
                g = g.to(out.dtype)
            if not create_graph:
                g = g.detach()
        edges.append(out._edge())
        root_grads.append(g)
    return edges, root_grads


_final_callbacks: list = []  # one list per backward pass running (a hook may start a nested one)


def queue_callback(callback) -> None:
    """Run ``callback()`` when the backward pass that is running has finished (PyTorch's
    ``Variable._execution_engine.queue_callback``): after every node, before ``backward``
    returns.  Callbacks run in the order queued; one may queue another."""
    if not _final_callbacks:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    _final_callbacks[-1].append(callback)


def _run_backward(*args):
    """The engine's pass, with grad mode on only under create_graph and NumPy's floating-point
    warnings off; then the callbacks queued during it."""
    create_graph = args[3]
    callbacks = []
    _final_callbacks.append(callbacks)
    # A plain pass (no create_graph, no intermediate's gradient captured) may fuse elementwise chains.
    in_backward, backward_roots = _fusion.in_backward, _fusion.backward_roots  # (this thread's lists)
    in_backward.append(not create_graph and (args[4] is None or all(
        node is None or isinstance(node, AccumulateGrad) for node, _ in args[4])))
    backward_roots.append(args[0])
    mode = grad_mode._state
    grad_enabled, mode.enabled = mode.enabled, bool(create_graph)
    quiet = _errstate.quiet()
    try:
        result = _backend.engine.run_backward(*args)
        i = 0
        while i < len(callbacks):
            callbacks[i]()
            i += 1
    finally:
        _errstate.restore(quiet)
        mode.enabled = grad_enabled
        _final_callbacks.pop()
        in_backward.pop()
        backward_roots.pop()
    return result


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph: bool = False,
             inputs=None) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the graph's leaves."""
    outputs = _as_tuple(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    edges, grads = _roots(outputs, grad_tensors, create_graph)
    if create_graph:
        warn_once(CREATE_GRAPH_CYCLE, stacklevel=3)
    wanted = None
    if inputs is not None:
        inputs = _as_tuple(inputs)
        if not inputs:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
        wanted = [t._edge() for t in inputs]
    _run_backward(edges, grads, retain_graph, create_graph, wanted, True, _EngineUtil)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False,
         allow_unused: bool = False, materialize_grads: bool = False):
    """The gradients of ``outputs`` with respect to ``inputs``, as a tuple; ``.grad`` is untouched."""
    outputs = _as_tuple(outputs)
    inputs_t = _as_tuple(inputs)
    if retain_graph is None:
        retain_graph = create_graph
    for t in inputs_t:
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    edges, grads = _roots(outputs, grad_outputs, create_graph)
    wanted = [t._edge() for t in inputs_t]
    result = _run_backward(edges, grads, retain_graph, create_graph, wanted, False, _EngineUtil)
    out = []
    for i, (t, g) in enumerate(zip(inputs_t, result)):
        if g is None:
            if materialize_grads:
                from ..tensor import Tensor
                g = Tensor._wrap(np.zeros(t._data.shape, t._data.dtype))
            elif not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have been used in "
                                   "the graph. Set allow_unused=True if this is the desired behavior.")
        elif g._data.shape != t._data.shape or g._data.dtype != t._data.dtype:
            g = _fit(g, t)
        out.append(g)
    return tuple(out)


def _fit(grad, tensor):
    """A captured gradient in the shape and dtype of the tensor it belongs to."""
    if grad._data.shape != tensor._data.shape:
        grad = grad.sum_to_size(tensor._data.shape)
    if grad._data.dtype != tensor._data.dtype:
        grad = grad.to(tensor.dtype)
    return grad
