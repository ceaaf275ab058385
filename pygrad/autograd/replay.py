"""Replay a backward pass on a retained graph and record what flowed along every edge.

``make_dot(..., annotate=True)`` and ``explain`` both need the gradient each node received
and the gradient it sent to each input.  ``replay_backward`` gets them from the real engine:
it runs ``autograd.grad`` with ``retain_graph=True`` and a post-hook on every node, so the
order is the engine's own (newest node first, once all its consumers are done) and no
``.grad`` is written.
"""
from __future__ import annotations

import gc

import numpy as np

from .._backend import core as _core
from .engine import _EngineUtil, grad as autograd_grad
from .function import AccumulateGrad
from .node_info import recompute_output, saved_entries

__all__ = ["graph_nodes", "replay_backward", "forward_values", "describe", "shape_str",
           "BackwardTrace", "NodeStep"]


def graph_nodes(roots) -> list:
    """Every node reachable from ``roots`` (nodes or None), each once, nearest first."""
    order, seen = [], set()
    for root in roots:
        if root is not None and root not in seen:
            seen.add(root)
            order.append(root)
    i = 0
    while i < len(order):
        for child, _ in order[i].next_functions:
            if child is not None and child not in seen:
                seen.add(child)
                order.append(child)
        i += 1
    return order


class NodeStep:
    """One node's run in the replayed pass.

    ``grad_outputs``: the gradient it received for each of its outputs (summed over its
    consumers, after tensor hooks).  ``grad_inputs``: what it sent along each edge of
    ``next_functions``, in the shape and dtype of that input (None where nothing flowed).
    """

    __slots__ = ("node", "index", "grad_outputs", "grad_inputs")

    def __init__(self, node, index, grad_outputs, grad_inputs):
        self.node, self.index = node, index
        self.grad_outputs, self.grad_inputs = grad_outputs, grad_inputs


class BackwardTrace:
    """The record of a replayed backward pass."""

    def __init__(self, outputs, seeds, nodes):
        self.outputs = outputs          # the tensors backpropagated from
        self.seeds = seeds              # their starting gradients
        self.nodes = nodes              # every node of the graph, nearest first
        self.steps: list[NodeStep] = []  # in execution order
        self.leaves = [n.variable for n in nodes if isinstance(n, AccumulateGrad)]
        self.leaf_grads: list = []

    def step(self, node) -> NodeStep | None:
        return self._by_node.get(node)

    def finish(self) -> None:
        self._by_node = {s.node: s for s in self.steps}
        contributions: dict = {}
        for out, seed in zip(self.outputs, self.seeds):
            if out.grad_fn is not None:
                contributions.setdefault((out.grad_fn, out.output_nr), []).append((None, 0, seed))
        for step in self.steps:
            for i, (child, nr) in enumerate(step.node.next_functions):
                g = step.grad_inputs[i]
                if child is not None and g is not None:
                    contributions.setdefault((child, nr), []).append((step.node, i, g))
        self._contributions = contributions

    def contributions(self, node, output_nr: int = 0) -> list:
        """``(sender node or None for an output's seed, edge index, gradient)`` received by
        ``node``'s output ``output_nr``, in the order they were sent."""
        return self._contributions.get((node, output_nr), [])

    def edge_grad(self, node, index: int):
        """The gradient ``node`` sent along ``next_functions[index]`` (None if none flowed)."""
        step = self._by_node.get(node)
        return None if step is None else step.grad_inputs[index]

    def leaf_grad(self, tensor):
        for leaf, g in zip(self.leaves, self.leaf_grads):
            if leaf is tensor:
                return g
        return None


def _seed(out):
    from ..tensor import Tensor
    return Tensor._wrap(np.ones(out._data.shape, out._data.dtype))


def replay_backward(outputs) -> BackwardTrace:
    """Backpropagate ``outputs`` (ones as the starting gradient) and record every step.

    The graph must still hold its saved tensors (not yet freed by a ``backward()`` without
    ``retain_graph``); it is retained afterwards.  ``.grad`` fields are not touched, and
    ``retain_grad()`` hooks are held back during the replay.
    """
    from .._errors import NO_GRAD_FN
    outputs = tuple(outputs)
    for i, out in enumerate(outputs):
        if not out.requires_grad:
            raise RuntimeError(NO_GRAD_FN.format(i))
    seeds = [_seed(out) for out in outputs]
    nodes = graph_nodes([out.grad_fn for out in outputs]
                        + [out._edge()[0] for out in outputs if out.grad_fn is None])
    trace = BackwardTrace(outputs, seeds, nodes)

    def recorder(node):
        def hook(grad_inputs, grad_outputs):
            fitted = []
            for i, ((child, _), g) in enumerate(zip(node.next_functions, grad_inputs)):
                fitted.append(None if child is None or g is None else _EngineUtil.validate(node, i, g))
            trace.steps.append(NodeStep(node, len(trace.steps), tuple(grad_outputs), tuple(fitted)))
        return hook

    handles, held_back = [], []
    try:
        for node in nodes:
            if isinstance(node, AccumulateGrad):
                continue
            handles.append(node.register_hook(recorder(node)))
            if node._retain_hooks:
                held_back.append((node, node._retain_hooks))
                node._retain_hooks = None
        if trace.leaves:
            grads = autograd_grad(outputs, trace.leaves, seeds, retain_graph=True, allow_unused=True)
        else:
            grads = ()
    finally:
        for handle in handles:
            handle.remove()
        for node, hooks in held_back:
            node._retain_hooks = hooks
    trace.leaf_grads = list(grads)
    trace.finish()
    return trace


def forward_values(nodes, known=()) -> dict:
    """The forward value (an array) of each node's outputs that can still be found.

    Nodes keep no reference to the tensors they produced (no cycles), so values come from
    ``known`` tensors, tensors the graph saved, the live tensors whose ``grad_fn`` is in the
    graph, and, for the rest, the op recomputed from its saved tensors where it can be.  Keys: ``(node, output_nr)``; leaves: ``(AccumulateGrad, 0)``.
    """
    from ..tensor import Tensor
    node_set = set(nodes)
    values = {}

    def add(tensor):
        fn = tensor._grad_fn
        if fn is not None and fn in node_set:
            values.setdefault((fn, tensor._output_nr), tensor._data)

    for t in known:
        add(t)
    wanted = 0
    for node in nodes:
        if isinstance(node, AccumulateGrad):
            values[(node, 0)] = node.variable._data
            continue
        wanted += 1
        for entry in saved_entries(node):
            if entry.key is None:
                continue
            if entry.is_output:
                values.setdefault((node, entry.key.output_nr), entry.array)
            else:
                add(entry.key)
    if sum(1 for key in values if not isinstance(key[0], AccumulateGrad)) < wanted:
        for obj in gc.get_objects() + _core.closed_objects():
            if issubclass(type(obj), Tensor):  # type(): no __class__ lookups on odd objects
                add(obj)
    for node in nodes:
        if (node, 0) not in values:
            array = recompute_output(node)
            if array is not None:
                values[(node, 0)] = array
    return values


def shape_str(shape) -> str:
    """A shape as torchviz writes it: ``(2, 3)``, ``(1)``, ``()``."""
    return "(" + ", ".join("%d" % s for s in shape) + ")"


def describe(array, limit: int = 6) -> str:
    """A short text for an array: its values when small, else shape, min/max and mean."""
    a = np.asarray(array)
    if a.size <= limit:
        # one line: the rows of a matrix follow each other as "[[1., 2.], [3., 4.]]"
        return np.array2string(a, precision=4, separator=", ", floatmode="maxprec").replace("\n", "")
    f = a.astype(np.float64)
    return (f"{shape_str(a.shape)} min {np.min(f):.4g} max {np.max(f):.4g} "
            f"mean {np.mean(f):.4g}")
