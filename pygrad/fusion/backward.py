"""Fused backward: a chain of elementwise table nodes runs as one blocked pass.

When the engine runs the backward of a table node with a large gradient, the chain below it is
gathered: a table node whose output was recorded lazily, never computed as a whole array, and
used only by nodes of the chain (``Usage`` counts its lazily recorded uses), with no hooks and
nothing that could observe its gradient, joins the chain; so the chain is a DAG (an
intermediate used twice gets the sum of its two gradients, added in the engine's order).  One
program then computes, block by block, the forward values the nodes saved (recomputed from
pending records, or read where the forward pass stored them) and every node's derivatives,
writing only the gradients that leave the chain (to leaves or to other nodes).  Gradients leaving
it into one tensor (a leaf used by several nodes of the chain) are added in the pass, in the
engine's order, when no other node of the backward pass sends that tensor a gradient: they
leave as one, the others' edges get None, and the engine has no whole-array sum left to do.

The engine still calls every node of the chain, in its own order: the node at the top returns
its gradients at once, with a ``Forwarded`` gradient (shape and dtype of the real one, no data)
on each edge into the chain (the engine's ``add`` keeps one of two of them), and each node below
answers a ``Forwarded`` gradient with its own precomputed gradients.  So the graph, node names, the engine's order and its checks stay as
they are.  It is used only in a plain ``backward()``/``autograd.grad`` pass of the engine with
no intermediate gradient asked for (not under ``create_graph``, anomaly mode, the profiler or
saved-tensor hooks, not for ``explain``'s replays), and never through a node with hooks.
"""
from __future__ import annotations

import heapq
import math
import threading

import numpy as np

from .. import _backend
from ..autograd import anomaly_mode as _anomaly
from ..autograd import grad_mode as _grad_mode
from ..autograd import op_observers as _op_observers
from ..tensor import Tensor
from . import lazy
from ._state import state
from .program import Broadcast, Program, Step
from .table import Derivatives

NODES: dict = {}         # node class -> its table op
_DERIVATIVES: dict = {}  # op name -> Derivatives
_PER_INPUT: dict = {}    # node class -> its Derivatives' per_input


class Forwarded(Tensor):
    """The gradient on an edge inside a fused chain: its storage slot holds a placeholder
    (right shape and dtype) whose ``results`` map each node below to its gradients."""

    __slots__ = ()


def _forwarded(shape, dtype, results) -> Forwarded:
    ph = lazy._placeholder(dtype, shape)
    ph.results = results
    t = Tensor._wrap(np.empty(0, dtype))
    lazy._set_raw(t, ph)
    t.__class__ = Forwarded
    return t


def _derivatives(op) -> Derivatives:
    d = _DERIVATIVES.get(op.name)
    if d is None:
        d = _DERIVATIVES[op.name] = Derivatives(op)
    return d


def runner(op):
    """The hook the generated backward of ``op`` calls with a large gradient: the node's
    gradients from a fused pass (or precomputed by one), or None to run as usual (with the
    results the node saved computed first)."""
    def fused_backward(ctx, grad):
        if type(grad) is Forwarded:
            return tuple(lazy._raw(grad).results.pop(ctx))
        modes = state.in_backward
        with lazy.lock:
            out = None
            if not (not modes or not modes[-1] or _grad_mode._state.enabled or _anomaly._state.enabled
                    or _op_observers.observers and lazy._others_observe() or ctx._post_hooks):
                out = _run_chain(ctx, grad)
            if out is None:
                lazy.settle(ctx)
            return out
    return fused_backward


def _full_or_scalar(array: np.ndarray, shape):
    """``array`` as a leaf: itself when it has the chain's shape, 0-d when it has one element,
    a ``Broadcast`` when it broadcasts to the chain's shape."""
    if array.shape == shape:
        return array if array.flags.c_contiguous else np.ascontiguousarray(array)
    if array.size == 1:
        return array.reshape(())
    if Broadcast.fits(array, shape):
        return Broadcast(np.ascontiguousarray(array), shape)
    return None


def _joins(child, nr, shape, dtype) -> bool:
    if type(child) not in NODES or nr != 0 or child._freed:
        return False
    usage = child.__dict__.get("_fz")
    if usage is None or usage.uses < 1 or usage.escaped:
        return False
    if child._pre_hooks or child._retain_hooks or child._post_hooks:
        return False
    meta = child._output_meta
    return len(meta) == 1 and meta[0] is not None and meta[0][0] == shape and meta[0][1].numpy == dtype


def _gather(top, shape, dtype):
    """The chain below ``top`` in the engine's order, and its inner edges ``(node, j, child)``:
    every joining node whose every lazily recorded use is an edge from the chain."""
    chain, edges = [top], []
    count = {top: 0}  # node -> edges into it from the chain
    for node in chain:  # grows as it goes: breadth first
        per_input = _PER_INPUT.get(type(node))
        if per_input is None:
            per_input = _PER_INPUT[type(node)] = _derivatives(NODES[type(node)]).per_input
        needs = node.needs_input_grad
        for j, (child, nr) in enumerate(node._next_functions):
            if (child is not None and needs[j] and per_input[j] is not None
                    and _joins(child, nr, shape, dtype)):
                edges.append((node, j, child))
                if child in count:
                    count[child] += 1
                else:
                    count[child] = 1
                    chain.append(child)
    if any(count[node] != node._fz.uses for node in chain[1:]):
        chain, edges = _unshared(top, chain, edges)
    return _ordered(top, chain, edges), edges


def _unshared(top, chain, edges):
    """``chain`` without its nodes used from outside it, and what only they reached."""
    while True:
        members = set(chain)
        count, below = {}, {}
        for parent, _, child in edges:
            if parent in members and child in members:
                count[child] = count.get(child, 0) + 1
                below.setdefault(parent, []).append(child)
        kept = {top} | {node for node in chain[1:] if count.get(node, 0) == node._fz.uses}
        reached, stack = {top}, [top]
        while stack:
            for child in below.get(stack.pop(), ()):
                if child in kept and child not in reached:
                    reached.add(child)
                    stack.append(child)
        new = [n for n in chain if n in reached]
        if len(new) == len(chain):
            break
        chain = new
    return chain, [e for e in edges if e[0] in members and e[2] in members]


def _ordered(top, chain, edges) -> list:
    """``chain`` in the engine's order."""
    # The engine runs the ready node with the highest sequence number first (of equal ones, the
    # one that became ready last).
    deps = dict.fromkeys(chain, 0)
    by_parent = {}
    for parent, _, child in edges:
        deps[child] += 1
        by_parent.setdefault(parent, []).append(child)
    order, ready, tick = [], [(-top._seq, 0, top)], 0
    while ready:
        node = heapq.heappop(ready)[2]
        order.append(node)
        for child in by_parent.get(node, ()):
            deps[child] -= 1
            if deps[child] == 0:
                tick -= 1
                heapq.heappush(ready, (-child._seq, tick, child))
    return order


def _run_chain(top, grad):
    meta = top._output_meta
    g = grad._data
    shape, dtype = g.shape, g.dtype
    if len(meta) != 1 or meta[0] is None or meta[0][0] != shape:
        return None
    chain, edges = _gather(top, shape, dtype)
    if len(chain) < 2:
        return None
    into = {(node, j): child for node, j, child in edges}

    prog = Program()
    inputs = {}  # node -> its saved registers (None where not saved)
    for node in chain:
        regs = []
        # saved_tensors: the version checks of the unfused backward, in the same words
        saved = node.saved_tensors
        entries = node._saved if type(node._saved) is list else [None] * len(saved)
        for t, entry in zip(saved, entries):
            if t is None:
                regs.append(prog.leaf(None))
                continue
            record = lazy.saved_record(entry) or lazy.record_of(t)
            if record is not None:
                if record.dtype != dtype or record.shape != shape:
                    return None
                regs.append(prog.add_record(record))
                continue
            a = t._data
            if a.dtype != dtype:
                a = a.astype(dtype)
            leaf = _full_or_scalar(a, shape)
            if leaf is None:
                return None
            regs.append(prog.leaf(leaf))
        inputs[node] = regs

    if not any(g.strides):  # the expanded gradient of a sum or mean: one number
        g = np.asarray(g[(0,) * g.ndim] if g.ndim else g, dtype).reshape(())
    elif not g.flags.c_contiguous:
        g = np.ascontiguousarray(g)
    grads = {top: prog.leaf(g)}  # node -> the register of its output's gradient (summed as it arrives)
    exits = []    # (node, input index, register)
    results = {}  # node -> list of gradients per forward argument
    forwarded = _forwarded(shape, dtype, results)  # the gradient on every edge inside the chain
    for node in chain:
        op = NODES[type(node)]
        d = _derivatives(op)
        attrs = [getattr(node, a) for a in d.attrs]
        out = [None] * (len(d.per_input) + len(attrs))
        for j, how in enumerate(d.per_input):
            if how is None or not node.needs_input_grad[j]:
                continue
            if how == "grad":
                reg = grads[node]
            else:
                reg = prog.step(how, [grads[node]] + inputs[node], attrs)
            child = into.get((node, j))
            if child is not None:
                before = grads.get(child)
                grads[child] = reg if before is None else prog.step(_ADD, [before, reg])
                out[j] = forwarded
            else:
                exits.append((node, j, reg))
        results[node] = out

    exits = _merge_exits(prog, exits, shape, dtype)
    arrays = [_backend.kernels._empty_buffer(shape, dtype) for _ in exits]
    flats = [a.reshape(-1) for a in arrays]
    n = math.prod(shape)
    prog.evaluate(n, [reg for _, _, reg in exits], flats)
    for array, (node, j, _) in zip(arrays, exits):
        results[node][j] = Tensor._wrap(array)
    state.counters["backward_chains"] += 1
    state.counters["backward_nodes"] += len(chain)
    return tuple(results.pop(top))


# Two gradients of one output added as the engine adds them (its ``add``: the kernel).
_ADD = Step(None, False, "add", "add")


def _merge_exits(prog, exits, shape, dtype) -> list:
    """The gradients leaving the chain into one input of another node (a leaf used by several
    nodes of the chain) summed in the pass, in the order the engine would add them (the
    engine's order of the nodes, then of their inputs): the first of them carries the sum, the
    others none (their entries in ``results`` stay None), so no whole-array addition follows
    the pass.  Only where every edge into that input in this backward pass comes from the
    chain (so nothing else is added between them, and the bits are the engine's), and only
    gradients of the chain's shape and dtype (the engine fits the others to their input)."""
    groups = {}  # destination -> [(node, j, register)], in the engine's order
    for node, j, reg in exits:
        meta = node._input_meta[j]
        if meta is not None and meta[0] == shape and meta[1].numpy == dtype:
            groups.setdefault(node._next_functions[j], []).append((node, j, reg))
    shared = {dest for dest, group in groups.items() if len(group) > 1}
    if not shared:
        return exits
    edges = _edges_into(shared)
    merged, done = [], set()
    for node, j, reg in exits:
        dest = node._next_functions[j]
        group = groups.get(dest) if dest in shared and edges.get(dest) == len(groups[dest]) else None
        if group is None:
            merged.append((node, j, reg))
        elif dest not in done:
            done.add(dest)
            total = group[0][2]
            for _, _, other in group[1:]:
                total = prog.step(_ADD, [total, other])
            state.counters["backward_sums"] += len(group) - 1
            merged.append((node, j, total))
    return merged


_passes = threading.local()  # per thread: the running pass's roots and its edge counts


def _edges_into(dests) -> dict:
    """How many edges of the running backward pass's graph (its root edges, and the edges of
    the nodes reachable from them) lead into each of ``dests`` ((node, input) pairs); {} when
    the pass is not found."""
    roots = _backward_roots()
    if roots is None:
        return {}
    known = getattr(_passes, "edges", None)
    if known is None or known[0] is not roots:
        from ..autograd.engine import queue_callback
        counts, seen = {}, set()
        for edge in roots:
            counts[edge] = counts.get(edge, 0) + 1
        stack = [node for node, _ in roots if node is not None]
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            for edge in node._next_functions:
                if edge[0] is not None:
                    counts[edge] = counts.get(edge, 0) + 1
                    stack.append(edge[0])
        known = _passes.edges = (roots, counts)
        queue_callback(_forget_pass)  # the graph is let go when the pass ends
    return {dest: known[1].get(dest, 0) for dest in dests}


def _forget_pass() -> None:
    _passes.edges = None


def _backward_roots():
    """The root edges of the innermost backward pass running in this thread, or None."""
    roots = state.backward_roots
    return roots[-1] if roots else None


state.forwarded = Forwarded
