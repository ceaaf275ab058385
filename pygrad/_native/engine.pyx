# cython: language_level=3
"""Compiled reverse-mode engine: the twin of ``pygrad._pure.engine``.

The same algorithm in the same order (post-order collection, dependency counts, a ready
heap keyed by the negated sequence number, one gradient buffer per node, hooks, freeing,
capture for ``autograd.grad``) with the bookkeeping in typed containers, so both engines
visit nodes and sum gradients identically.
"""
from heapq import heappop, heappush


cdef list _collect(roots, targets):
    """Nodes reachable from ``roots``, in post-order (every node after its next nodes)."""
    cdef list order = [], stack = []
    cdef set seen = set()
    cdef set needed
    cdef tuple item
    cdef bint expanded
    for node, _ in roots:
        if node is not None:
            stack.append((node, False))
    while stack:
        item = <tuple>stack.pop()
        node = item[0]
        expanded = item[1]
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for child, _ in node.next_functions:
            if child is not None and child not in seen:
                stack.append((child, False))
    if targets is None:
        return order
    needed = set()
    for node in order:  # children come first, so one pass decides
        if node in targets:
            needed.add(node)
            continue
        for child, _ in node.next_functions:
            if child is not None and child in needed:
                needed.add(node)
                break
    return [n for n in order if n in needed]


cdef object _run_hooks(tuple hooks, grad):
    for hook in hooks:
        result = hook(grad)
        if result is not None:
            grad = result
    return grad


cdef object _call(node, list grads, bint retain_graph, util):
    cdef Py_ssize_t nr
    pre_hooks = node._pre_hooks
    pre = pre_hooks.get(-1) if pre_hooks else None
    if pre:
        for hook in tuple(pre.values()):
            result = hook(tuple(grads))
            if result is not None:
                grads = list(result)
    if node.materialize_grads:
        for nr in range(len(grads)):
            if grads[nr] is None:
                grads[nr] = util.zeros(node._output_meta[nr])
    grad_inputs = node.apply(*grads)
    if not retain_graph:
        node._release()
    post_hooks = node._post_hooks
    if post_hooks:
        for hook in tuple(post_hooks.values()):
            result = hook(grad_inputs, tuple(grads))
            if result is not None:
                grad_inputs = tuple(result)
    return grad_inputs


cdef object _call_checked(node, list grads, bint retain_graph, util):
    """``_call`` in anomaly mode: NaN check of the results, forward stack reported on failure."""
    try:
        grad_inputs = _call(node, grads, retain_graph, util)
        util.check_anomaly(node, grad_inputs)
    except Exception:
        util.report_anomaly(node)
        raise
    return grad_inputs


cdef inline list _new_slots(node):
    cdef Py_ssize_t n = len(node._output_meta)
    return [None] * (n if n > 1 else 1)


def run_backward(roots, grad_roots, retain_graph, create_graph, inputs, accumulate, util):
    """Backpropagate ``grad_roots`` from the edges ``roots`` (see ``pygrad._pure.engine``)."""
    cdef dict capture = None, buffers = {}, deps
    cdef set targets = None, live
    cdef list nodes, ready = [], grads, slots, captured = None
    cdef Py_ssize_t i, nr, count
    cdef bint retain = retain_graph, do_accumulate = accumulate, any_grad, any_live, checked
    cdef tuple edges
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
        for child, _ in node.next_functions:
            if child in live:
                deps[child] = <Py_ssize_t>deps[child] + 1

    for (node, nr), grad in zip(roots, grad_roots):
        if node is None or node not in live:
            continue
        slots = buffers.get(node)
        if slots is None:
            slots = buffers[node] = _new_slots(node)
        slots[nr] = grad if slots[nr] is None else util.add(slots[nr], grad)
    for node in buffers:
        if <Py_ssize_t>deps[node] == 0:
            heappush(ready, (-node._seq, id(node), node))

    if inputs is not None:
        captured = [None] * len(inputs)
    checked = util.anomaly_enabled()
    is_leaf_node = util.is_accumulate_grad
    validate = util.validate
    add = util.add
    while ready:
        node = (<tuple>heappop(ready))[2]
        grads = <list>buffers.pop(node)
        any_grad = False
        for nr in range(len(grads)):
            grad = grads[nr]
            if grad is None:
                continue
            any_grad = True
            hooks = node._tensor_hooks(nr)
            if hooks:
                grads[nr] = grad = _run_hooks(tuple(hooks), grad)
            if capture is not None:
                for i in capture.get((node, nr), ()):
                    captured[i] = grad
        edges = node.next_functions
        if capture is not None:
            any_live = False
            for child, _ in edges:
                if child in live:
                    any_live = True
                    break
            # Nothing downstream needs this node: run it only to fill a requested leaf's .grad.
            if not any_live and not (do_accumulate and is_leaf_node(node)):
                continue
        if not any_grad:
            grad_inputs = (None,) * len(edges)
        else:
            grad_inputs = (_call_checked if checked else _call)(node, grads, retain, util)
        input_meta = node._input_meta
        for i in range(len(edges)):
            child, nr = edges[i]
            if child is None or child not in live:
                continue
            grad = grad_inputs[i]
            if grad is not None:
                # validate() returns a gradient of the right shape and dtype as it is.
                meta = input_meta[i]
                data = grad._data
                if not (data.shape == meta[0] and data.dtype is meta[1].numpy):
                    grad = validate(node, i, grad)
                slots = buffers.get(child)
                if slots is None:
                    slots = buffers[child] = _new_slots(child)
                slots[nr] = grad if slots[nr] is None else add(slots[nr], grad)
            count = <Py_ssize_t>deps[child] - 1
            deps[child] = count
            if count == 0:
                if child not in buffers:
                    buffers[child] = _new_slots(child)
                heappush(ready, (-child._seq, id(child), child))
    return captured


# -- recording: Function.apply -------------------------------------------------------------
# The classes it needs are bound on first use: this module loads before pygrad.tensor.
cdef object _Tensor = None
cdef object _SavedTensor, _state, _LEAF_INPLACE, _anomaly
cdef dict _DTYPES


cdef void _bind():
    global _Tensor, _SavedTensor, _state, _LEAF_INPLACE, _DTYPES, _anomaly
    from pygrad._errors import LEAF_INPLACE
    from pygrad.dtypes import _BY_NUMPY
    _DTYPES = _BY_NUMPY
    from pygrad.autograd import anomaly_mode, grad_mode
    _anomaly = anomaly_mode
    from pygrad.autograd.function import SavedTensor
    from pygrad.tensor import Tensor
    _SavedTensor, _state, _LEAF_INPLACE = SavedTensor, grad_mode._state, LEAF_INPLACE
    _Tensor = Tensor


def apply_function(cls, tuple args, dict kwargs):
    """``Function.apply`` (see ``pygrad.autograd.function.apply_function``), compiled."""
    if _Tensor is None:
        _bind()
    cdef Py_ssize_t n = len(args), i
    cdef bint record = _state.enabled, single
    cdef list needs = [False] * n
    ctx = cls._backward_cls()
    if record:
        record = False
        for i in range(n):
            a = args[i]
            # A view's state is made current first (its base may have changed in place since).
            if type(a) is not bool and isinstance(a, _Tensor) and (
                    a._requires_grad if a._view is None else a._view.requires_grad(a)):
                needs[i] = True
                record = True
    ctx.needs_input_grad = tuple(needs)

    state = _state
    prev = state.enabled
    state.enabled = False
    try:
        result = cls.forward(ctx, *args, **kwargs)
    finally:
        state.enabled = prev

    single = type(result) is not tuple and not isinstance(result, tuple)
    outputs = (result,) if single else result
    for t in ctx._dirty:
        t._version.value += 1
    if record:
        outputs = _connect(ctx, args, outputs)
        if _anomaly._state.enabled:
            ctx._anomaly_trace = _anomaly.forward_stack()
    elif ctx._to_save is not None:
        ctx._to_save = None
    return outputs[0] if single else outputs


cdef inline bint _is_in(o, tuple items):
    for x in items:
        if o is x:
            return True
    return False


cdef bint _shares_version(t, tuple dirty):
    for d in dirty:
        if t._version is d._version:
            return True
    return False


cdef tuple _connect(node, tuple args, tuple outputs):
    """Make ``node`` the grad_fn of ``outputs`` and link it to the inputs' nodes."""
    cdef Py_ssize_t n = len(args), i
    cdef list edges, meta, fixed, out_meta, saved
    # As in PyTorch, only tensor arguments get an edge ((None, 0) when they don't require grad).
    for i in range(n):
        if not isinstance(args[i], _Tensor):
            positions = tuple([i for i in range(n) if isinstance(args[i], _Tensor)])
            node._edge_args = positions
            args = tuple([args[i] for i in positions])
            n = len(args)
            break
    edges = [None] * n
    meta = [None] * n
    for i in range(n):
        a = args[i]
        if isinstance(a, _Tensor) and a._requires_grad:
            grad_fn = a._grad_fn
            if grad_fn is not None:
                edges[i] = (grad_fn, a._output_nr)
            else:  # a leaf: its live AccumulateGrad node, else a new one
                ref = a._accumulator
                leaf_node = ref() if ref is not None else None
                edges[i] = (leaf_node, 0) if leaf_node is not None else a._edge()
            data = a._data
            meta[i] = (data.shape, _DTYPES[data.dtype])
        else:
            edges[i] = (None, 0)
    node.next_functions = tuple(edges)
    node._input_meta = tuple(meta)

    cdef tuple non_diff = tuple(node._non_differentiable)
    cdef tuple dirty = tuple(node._dirty)
    for d in dirty:
        if d._view is not None:
            d._view.check_inplace(d)
        elif d._grad_fn is None and d._requires_grad:
            raise RuntimeError(_LEAF_INPLACE)
    n = len(outputs)
    fixed = [None] * n
    out_meta = [None] * n
    for i in range(n):
        o = outputs[i]
        if isinstance(o, _Tensor):
            if _is_in(o, args) and not _is_in(o, dirty):
                o = o._alias()  # an input returned as is becomes a new tensor on the same storage
            data = o._data
            dtype = _DTYPES[data.dtype]
            if (non_diff and _is_in(o, non_diff)) or not dtype.is_floating_point:
                o._requires_grad = False
            else:
                o._requires_grad = True
                o._grad_fn = node
                o._output_nr = i
            out_meta[i] = (data.shape, dtype)
        fixed[i] = o
    node._output_meta = tuple(out_meta)

    to_save = node._to_save
    if to_save:
        saved = []
        for t in to_save:
            if t is None:
                saved.append(None)
                continue
            if not isinstance(t, _Tensor):
                raise TypeError("save_for_backward can only save variables, but argument "
                                f"{len(saved)} is of type {type(t).__name__}")
            entry = _SavedTensor(t, t._grad_fn is node)
            if dirty and entry.tensor is not None and _shares_version(t, dirty):
                entry.saved_version -= 1  # an input sharing storage with the target was saved before the write
            saved.append(entry)
        node._saved = saved
        node._to_save = None
    for d in dirty:  # written through a view: the base's history changes (autograd/views.py)
        if d._view is not None:
            d._view.rebase(d, node)
    return tuple(fixed)
