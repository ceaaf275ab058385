"""Reverse-mode transforms: ``grad``, ``grad_and_value``, ``vjp`` and ``jacrev``.

The differentiated arguments become fresh tensors that require grad, and the function's
output is differentiated with respect to them by the ordinary backward pass.  Under ``vmap``
those tensors are batched over every open vmap level (expanded where the argument was not),
so one backward pass gives every sample its own gradient.  Inside another transform (or when
an argument already has a history) the backward pass builds a graph, so transforms compose.
"""
from __future__ import annotations

import functools
import threading

from ..autograd import engine as _engine
from ..autograd import forward_ad as _fwAD
from ..autograd import grad_mode
from ..tensor import Tensor
from ._batched import BatchedTensor, active_levels, grad_level, level_size, map_samples, rewrap, top_level, unwrap
from ._pytree import tree_flatten, tree_unflatten, treespec_pprint


class _Depth(threading.local):
    value = 0


_depth = _Depth()


# -- arguments -----------------------------------------------------------------------------------

def _check_argnums(argnums, nargs: int) -> None:
    if isinstance(argnums, int) and not isinstance(argnums, bool):
        numbers = (argnums,)
    elif isinstance(argnums, tuple) and all(isinstance(a, int) for a in argnums):
        if not argnums:
            raise RuntimeError("argnums must be non-empty")
        numbers = argnums
    else:
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    for a in numbers:
        if not -nargs <= a < nargs:
            raise RuntimeError(f"Got argnum={a}, but only {nargs} positional inputs")
    normalized = [a % nargs for a in numbers]
    if len(set(normalized)) != len(normalized):
        raise RuntimeError(f"argnums elements must be unique, got {argnums}")


def _selected(args, argnums):
    return args[argnums] if isinstance(argnums, int) else tuple(args[a] for a in argnums)


def _replaced(args, argnums, values):
    args = list(args)
    if isinstance(argnums, int):
        args[argnums] = values
    else:
        for a, v in zip(argnums, values):
            args[a] = v
    return tuple(args)


def _physical(x, levels):
    """``x`` with the batch of every open vmap level in front, in level order (expanded where
    ``x`` is not batched at a level)."""
    for level in reversed(levels):
        x = unwrap(x, level.id, level.size)
    return x


def _rebatched(x, levels):
    for level in levels:
        x = rewrap(x, level.id)
    return x


class _Tracked:
    """The differentiated arguments as tensors that require grad (physical, batched over the
    open vmap levels) and the logical tensors the function receives."""

    def __init__(self, primals):
        leaves, self.spec = tree_flatten(primals)
        self.levels = list(active_levels())
        self.physical = []
        self._leaf_ids = set()
        self.has_tangents = False
        for leaf in leaves:
            if not isinstance(leaf, Tensor):
                raise ValueError(f"Thing passed to transform API must be Tensor, got {type(leaf)}")
            if not leaf.dtype.is_floating_point:
                raise RuntimeError("only Tensors of floating point dtype can require gradients")
            p = _physical(leaf, self.levels)
            p = p.clone() if p.requires_grad else p.detach().requires_grad_()
            self._leaf_ids.add(id(p))
            tangent = _fwAD.tangent_of(leaf)
            if tangent is not None:  # forward mode over this transform (jacfwd(jacrev(f))): keep it
                p = _fwAD.make_dual(p, tangent)
                self.has_tangents = True
            self.physical.append(p)
        self.has_history = any(leaf.requires_grad for leaf in leaves)
        self.logical = tree_unflatten([_rebatched(p, self.levels) for p in self.physical], self.spec)

    def create_graph(self, outputs=()) -> bool:
        """Whether the gradients must be differentiable: inside another transform, for an
        argument with a history, or when the outputs also depend on other tensors that require
        grad (parameters the function closes over)."""
        if not grad_mode.is_grad_enabled():
            return False
        return self.has_history or _depth.value > 0 or self._reaches_other_leaves(outputs)

    def _reaches_other_leaves(self, outputs) -> bool:
        ours = self._leaf_ids | {id(p) for p in self.physical}
        stack = [o.grad_fn for o in outputs if isinstance(o, Tensor) and o.grad_fn is not None]
        seen = set()
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            variable = getattr(node, "variable", None)
            if variable is not None and id(variable) not in ours:
                return True
            stack.extend(n for n, _ in node.next_functions if n is not None)
        return False

    def gradients(self, outputs, cotangents, create_graph: bool, retain_graph: bool = True):
        """d(outputs . cotangents)/d(arguments), batched like the arguments, as their pytree
        (``retain_graph``: the graph stays for another call, as a vjp's does)."""
        outs = [_physical(o, self.levels) for o in outputs]
        cts = [_physical(c, self.levels) for c in cotangents]
        pairs = [(o, c) for o, c in zip(outs, cts) if o.requires_grad]
        if pairs:
            # Tangents flow through the backward pass only if it is recorded (forward over reverse).
            graph = create_graph or self.has_tangents
            grads = _engine.grad([o for o, _ in pairs], self.physical, [c for _, c in pairs],
                                 retain_graph=retain_graph or graph, create_graph=graph, allow_unused=True)
        else:
            grads = [None] * len(self.physical)
        grads = [g if g is not None else p.detach() * 0 for g, p in zip(grads, self.physical)]
        if not create_graph:
            grads = [_fwAD.detach_keeping_tangent(g) for g in grads]
        return tree_unflatten([_rebatched(g, self.levels) for g in grads], self.spec)

    def call(self, func, args, argnums, kwargs):
        _depth.value += 1
        try:
            with grad_mode.enable_grad(), grad_level(self.physical):
                return func(*_replaced(args, argnums, self.logical), **kwargs)
        finally:
            _depth.value -= 1


def _split_aux(output, has_aux: bool, call: str):
    """``(output, aux)`` of a function called with ``has_aux`` (``call`` names the API in errors)."""
    if not has_aux:
        return output, None
    if not (isinstance(output, tuple) and len(output) == 2):
        raise RuntimeError(f"{call}: output of function f should be a tuple: (output, aux) if has_aux is True")
    return output


def _tensor_leaves(output, call: str, inputs: str):
    leaves, spec = tree_flatten(output)
    for leaf in leaves:
        if not isinstance(leaf, Tensor):
            raise RuntimeError(f"{call}: expected f({inputs}) to return only tensors, got unsupported type "
                               f"{type(leaf)}")
    return leaves, spec


def _detached(tree, keep: bool):
    return tree if keep else _tree_map_tensors(_fwAD.detach_keeping_tangent, tree)


def _tree_map_tensors(fn, tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) if isinstance(x, Tensor) else x for x in leaves], spec)


# -- grad ----------------------------------------------------------------------------------------------

def grad_and_value(func, argnums=0, has_aux: bool = False):
    """``func``'s gradient with respect to the arguments at ``argnums``, and its value."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        _check_argnums(argnums, len(args))
        tracked = _Tracked(_selected(args, argnums))
        output, aux = _split_aux(tracked.call(func, args, argnums, kwargs), has_aux, "grad_and_value(f)(*args)")
        if not isinstance(output, Tensor):
            raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                               f"{type(output)}")
        if output.dim() != 0:
            raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got tensor "
                               f"with {output.dim()} dims. Maybe you wanted to use the vjp or jacrev APIs instead?")
        create_graph = tracked.create_graph([output])
        from ..creation import ones_like
        grads = tracked.gradients([output], [ones_like(output)], create_graph, retain_graph=False)
        value = _detached(output, create_graph)
        if has_aux:
            return grads, (value, _detached(aux, create_graph))
        return grads, value
    return wrapper


def grad(func, argnums=0, has_aux: bool = False):
    """``func``'s gradient with respect to the arguments at ``argnums`` (``func`` returns a scalar)."""
    with_value = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        grads, value = with_value(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads
    return wrapper


# -- vjp -----------------------------------------------------------------------------------------------

def vjp(func, *primals, has_aux: bool = False):
    """``(func(*primals), vjp_fn)``: ``vjp_fn(cotangents)`` is the vector-Jacobian product."""
    argnums = tuple(range(len(primals)))
    tracked = _Tracked(primals)
    output, aux = _split_aux(tracked.call(func, primals, argnums, {}), has_aux, "vjp(f, *primals)")
    out_leaves, out_spec = _tensor_leaves(output, "vjp(f, *primals)", "*primals")
    for leaf in out_leaves:
        if not leaf.dtype.is_floating_point:
            raise RuntimeError("vjp(f, ...): All outputs of f must be floating-point or complex Tensors, got Tensor "
                               f"with dtype {leaf.dtype}")
    create_graph = tracked.create_graph(out_leaves)

    def vjp_fn(cotangents, retain_graph: bool = True, create_graph: bool | None = None):
        ct_leaves, ct_spec = tree_flatten(cotangents)
        if ct_spec != out_spec:
            raise RuntimeError("Expected pytree structure of cotangents to be the same as pytree structure of "
                               f"outputs to the function. cotangents: {treespec_pprint(ct_spec)}, primal output: "
                               f"{treespec_pprint(out_spec)}")
        for o, c in zip(out_leaves, ct_leaves):
            if tuple(o.shape) != tuple(c.shape):
                raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {c.shape} and output[0] "
                                   f"has a shape of {o.shape}.")
        graph = tracked.create_graph(out_leaves) if create_graph is None else create_graph
        if not _new_levels(tracked, ct_leaves):
            return _detached(tracked.gradients(out_leaves, ct_leaves, graph), graph)
        try:  # the backward formulas as ops on the batched cotangents
            return _detached(tracked.gradients(out_leaves, ct_leaves, True), graph)
        except RuntimeError:  # a backward pygrad cannot run as ops (conv, pooling): one cotangent at a time
            level = top_level(ct_leaves)
            return map_samples("vjp", lambda *cts: vjp_fn(tree_unflatten(cts, ct_spec), retain_graph, graph),
                               ct_leaves, {}, level, level_size(level), warn=False)

    value = _detached(output, create_graph)
    if has_aux:
        return value, vjp_fn, _detached(aux, create_graph)
    return value, vjp_fn


def _new_levels(tracked, cotangents) -> bool:
    """Cotangents batched by a vmap opened after the vjp: their batch is a level the forward
    did not see, so the backward pass runs on batched gradients through a graph."""
    known = {level.id for level in tracked.levels}
    for c in cotangents:
        while type(c) is BatchedTensor:
            if c._level not in known:
                return True
            c = c._value
    return False


# -- jacrev --------------------------------------------------------------------------------------------

def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size=None):
    """The Jacobian of ``func`` with respect to the arguments at ``argnums``, by reverse mode:
    one forward pass, then the vector-Jacobian products of the output's basis vectors, batched
    by ``vmap`` into one backward pass (``chunk_size`` of them at a time)."""
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from ..creation import eye
        from ._vmap import vmap
        _check_argnums(argnums, len(args))
        primals = (args[argnums],) if isinstance(argnums, int) else _selected(args, argnums)

        def selected_only(*values):
            return func(*_replaced(args, argnums, values[0] if isinstance(argnums, int) else values), **kwargs)
        output, vjp_fn, *aux = vjp(selected_only, *primals, has_aux=has_aux)
        out_leaves, out_spec = tree_flatten(output)
        sizes = [leaf.numel() for leaf in out_leaves]

        def cotangent(basis_row):
            parts, start = [], 0
            for leaf, n in zip(out_leaves, sizes):
                parts.append(basis_row.narrow(0, start, n).reshape(leaf.shape))
                start += n
            return vjp_fn(tree_unflatten(parts, out_spec))

        basis = eye(sum(sizes), dtype=out_leaves[0].dtype)
        rows = vmap(cotangent, chunk_size=chunk_size)(basis)
        rows = rows[0] if isinstance(argnums, int) else rows
        result = tree_unflatten(_split_rows(rows, out_leaves, sizes), out_spec)
        return (result, aux[0]) if has_aux else result
    return wrapper


def _split_rows(rows, out_leaves, sizes):
    """Per output, the Jacobian rows reshaped to ``output.shape + input.shape``."""
    row_leaves, row_spec = tree_flatten(rows)
    out, start = [], 0
    for leaf, n in zip(out_leaves, sizes):
        parts = [r.narrow(0, start, n).reshape(*leaf.shape, *r.shape[1:]) for r in row_leaves]
        out.append(tree_unflatten(parts, row_spec))
        start += n
    return out
