"""Reverse-mode engine: dependency counting, a ready queue, gradient buffers, freeing.

Nodes are processed once all of their consumers' gradients have been summed, newest node
first (by creation sequence number), which is the order PyTorch uses.  Everything is
iterative: a chain of a million nodes needs no recursion.

``util`` supplies the tensor-level steps (summing two gradients, zeros for a missing
gradient, fitting a gradient to its input's shape and dtype), so that this module and
its compiled twin share one definition of them.
"""
from __future__ import annotations

import heapq
import sys

import numpy as np

from .._errors import no_such_output


def _collect(roots, targets):
    """Nodes reachable from ``roots``, in post-order (every node after its next nodes).

    With ``targets`` (a set of nodes), keep only the nodes that lead to a target.
    """
    order, seen = [], set()
    stack = [(node, False) for node, _ in roots if node is not None]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for child, _ in node._next_functions:
            if child is not None and child not in seen:
                stack.append((child, False))
    if targets is None:
        return order
    needed = set()
    for node in order:  # children come first, so one pass decides
        if node in targets or any(c in needed for c, _ in node._next_functions if c is not None):
            needed.add(node)
    return [n for n in order if n in needed]


def _add_to_slot(node, slots, nr, grad, util):
    if not 0 <= nr < len(slots):
        raise RuntimeError(no_such_output(node, nr))
    slots[nr] = grad if slots[nr] is None else util.add(slots[nr], grad)


def _run_hooks(hooks, grad):
    for hook in hooks:
        result = hook(grad)
        if result is not None:
            grad = result
    return grad


def _holders(grads) -> tuple:
    """How many references the gradient in the one-slot buffer ``grads``, its array and the
    array's base have, as counted from here (compared with the same counts of a gradient
    nothing else holds: see ``_exclusive``)."""
    grad = grads[0]
    data = grad._data
    base = data.base
    return sys.getrefcount(grad), sys.getrefcount(data), None if base is None else sys.getrefcount(base)


def _exclusive(grads) -> bool:
    """Whether the gradient in the buffer ``grads`` may become a leaf's ``.grad`` without a copy,
    as PyTorch's AccumulateGrad steals it: a plain C-contiguous array that nothing but the buffer
    holds (no hook, no captured output, no saved tensor, no other tensor or view on its memory),
    on memory of its own size (a view of the whole of a base only).
    The references are counted and compared with those of a fresh gradient held by the buffer
    only, measured by the same function, so the rule is exact on every interpreter."""
    grad = grads[0]
    if type(grad) is not _tensor_type or grad._requires_grad or grad._view is not None or grad._hooks:
        return False
    data = grad._data
    if type(data) is not np.ndarray or not (data.flags.c_contiguous and data.flags.writeable):
        return False
    base = data.base
    if base is not None and (type(base) is not np.ndarray or base.base is not None or base.nbytes != data.nbytes):
        return False
    del grad, data, base
    counts = _holders(grads)
    return counts == (_FRESH if counts[2] is None else _FRESH_VIEW)


def _call(node, grads, retain_graph, util, owned=False):
    if owned:  # an AccumulateGrad node without hooks (the engine checked): its gradient is stolen
        with node._lock:
            node.variable._accumulate_grad(grads[0], True)
        return ()
    pre = node._pre_hooks.get(-1) if node._pre_hooks else None
    if pre:
        for hook in tuple(pre.values()):
            result = hook(tuple(grads))
            if result is not None:
                grads = list(result)
    if node.materialize_grads:
        for nr, grad in enumerate(grads):
            if grad is None:
                grads[nr] = util.zeros(node._output_meta[nr])
    grad_inputs = node.apply(*grads)
    if not retain_graph:
        node._release()
    if node._post_hooks:
        grad_inputs = util.fit_for_post_hooks(node, grad_inputs)
        for hook in tuple(node._post_hooks.values()):
            result = hook(grad_inputs, tuple(grads))
            if result is not None:
                grad_inputs = tuple(result)
    return grad_inputs


def _call_checked(node, grads, retain_graph, util, owned=False):
    """``_call`` in anomaly mode: NaN check of the results, forward stack reported on failure."""
    try:
        grad_inputs = _call(node, grads, retain_graph, util, owned)
        util.check_anomaly(node, grad_inputs)
    except Exception:
        util.report_anomaly(node)
        raise
    return grad_inputs


def run_backward(roots, grad_roots, retain_graph, create_graph, inputs, accumulate, util):
    """Backpropagate ``grad_roots`` from the edges ``roots``.

    ``inputs``: edges whose gradients are returned (a list aligned with them, None where no
    gradient arrived); ``None`` to accumulate into every leaf reached.  With ``accumulate``
    False, leaves' AccumulateGrad nodes are not run (``autograd.grad``).
    """
    capture = None
    targets = None
    if inputs is not None:
        capture = {}
        for i, (node, nr) in enumerate(inputs):
            if node is not None:
                capture.setdefault((node, nr), []).append(i)
        targets = {node for node, _ in capture}
    nodes = _collect(roots, targets)
    live = set(nodes)
    deps = dict.fromkeys(nodes, 0)
    for node in nodes:
        for child, _ in node._next_functions:
            if child in live:
                deps[child] += 1

    buffers = {}
    ready = []
    for (node, nr), grad in zip(roots, grad_roots):
        if node is None or node not in live:
            continue
        slots = buffers.get(node)
        if slots is None:
            slots = buffers[node] = [None] * max(1, len(node._output_meta))
        _add_to_slot(node, slots, nr, grad, util)
    for node in buffers:
        if deps[node] == 0:
            heapq.heappush(ready, (-node._seq, id(node), node))

    captured = [None] * len(inputs) if inputs is not None else None
    call = _call_checked if util.anomaly_enabled() else _call
    is_leaf_node = util.is_accumulate_grad
    steal = accumulate and not create_graph
    while ready:
        _, _, node = heapq.heappop(ready)
        grads = buffers.pop(node)
        for nr, grad in enumerate(grads):
            if grad is None:
                continue
            hooks = node._tensor_hooks(nr)
            if hooks:
                grads[nr] = grad = _run_hooks(hooks, grad)
            if capture is not None:
                for i in capture.get((node, nr), ()):
                    captured[i] = grad
        if capture is not None and not any(c in live for c, _ in node._next_functions):
            # Nothing downstream needs this node: run it only to fill a requested leaf's .grad.
            if not (accumulate and is_leaf_node(node)):
                continue
        grad = None  # the buffer is the gradient's one holder here, unless someone else keeps it
        if all(g is None for g in grads):
            grad_inputs = (None,) * len(node._next_functions)
        else:
            owned = (steal and is_leaf_node(node) and not node._pre_hooks and not node._post_hooks
                     and not node._tensor_hooks(0) and _exclusive(grads))
            grad_inputs = call(node, grads, retain_graph, util, owned)
        for i, (child, nr) in enumerate(node._next_functions):
            if child is None or child not in live:
                continue
            grad = grad_inputs[i]
            if grad is not None:
                grad = util.validate(node, i, grad)
                slots = buffers.get(child)
                if slots is None:
                    slots = buffers[child] = [None] * max(1, len(child._output_meta))
                _add_to_slot(child, slots, nr, grad, util)
            deps[child] -= 1
            if deps[child] == 0:
                if child not in buffers:
                    buffers[child] = [None] * max(1, len(child._output_meta))
                heapq.heappush(ready, (-child._seq, id(child), child))
        grad = grad_inputs = None  # held no longer than needed (see _exclusive)
    return captured


def apply_function(cls, args, kwargs):
    """``Function.apply``: run forward and record the node (the reference in autograd.function)."""
    return _function.apply_function(cls, args, kwargs)


from ..autograd import function as _function  # noqa: E402  (imports back into the backend)
from ..tensor import Tensor as _tensor_type  # noqa: E402

# The counts of a gradient held by its buffer only, its array (or a view's base) by it only.
_FRESH = _holders([_tensor_type._wrap(np.empty(1))])
_FRESH_VIEW = _holders([_tensor_type._wrap(np.empty((1, 1)).T)])
