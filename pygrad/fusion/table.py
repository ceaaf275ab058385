"""What fusion takes from the op table: which ops fuse, and their forward and derivative
expressions as program steps, compiled from the table's own text (no formula is restated)."""
from __future__ import annotations

from ._state import state
from .program import Step

# Results of these dtype rules have the inputs' float dtype, which fused chains keep ("tensor":
# the forward takes the Tensors, wrapped around each block).
_DTYPES = ("same", "float", "promote", "promote_float", "tensor")
# Names an elementwise derivative may not use (they reduce or reshape).
_NOT_ELEMENTWISE = frozenset({"sum_keep", "unreduce", "expand_to", "sum_over", "sum_to_size", "count"})
# The reductions over all elements that consume a pending chain in its own pass.
REDUCTIONS = {"_sum": "sum", "_mean": "mean"}


def fusible(op) -> bool:
    """An elementwise table op fusion can record: a differentiable forward on arrays whose
    derivatives are elementwise expressions of the inputs and ``result`` (a saved result is
    the record itself: see ``lazy``)."""
    from ..ops._opdef import _names_in
    if op.node is None or (op.kernel is None and op.forward is None) or op.dtype not in _DTYPES:
        return False
    if not op.elementwise or op.keeps or op.intermediates or op.saves or op.forward_only:
        return False
    if any(a.type not in ("Tensor", "TensorLike") for a in op.inputs):
        return False
    names = set()
    for expr in list(op.derivatives.values()) + list(op.fused.values()):
        names |= _names_in(expr)
    return not names & _NOT_ELEMENTWISE


def forward_step(op) -> Step:
    from ..ops._opdef import ARRAY_NS, _compile
    if op.kernel:
        return Step(None, op.quiet, op.name, op.kernel)
    fn = _compile(op.forward, tuple(a.name for a in op.inputs) + tuple(a.name for a in op.attrs), ARRAY_NS, op.name)
    if op.dtype == "tensor":
        fn = _on_tensors(fn, len(op.inputs))
    return Step(fn, op.quiet, op.name)


def _on_tensors(forward, n: int):
    """A forward over Tensors as a function of arrays (each block wrapped, no copy)."""
    from ..tensor import Tensor
    wrap = Tensor._wrap

    def call(*args):
        return forward(*[wrap(a) for a in args[:n]], *args[n:])
    call.on_tensors = (forward, n)  # for tracing (pygrad/fusion/lower.py)
    return call


class Derivatives:
    """Per input of ``op``: "grad" (passed on), a Step computing it from
    ``(grad, *saved, *attrs)``, or None (no derivative)."""

    def __init__(self, op):
        from ..ops._opdef import ARRAY_NS, _compile, backward_quiet, saved_names
        self.saved = saved_names(op)
        self.attrs = tuple(a.name for a in op.attrs)
        params = ("grad",) + self.saved + self.attrs
        quiet = backward_quiet(op)
        self.per_input = []
        for a in op.inputs:
            expr = op.derivatives.get(a.name)
            if expr is None:
                self.per_input.append(None)
            elif expr == "grad":
                self.per_input.append("grad")
            else:
                text = op.fused.get(a.name, expr)
                self.per_input.append(Step(_compile(text, params, ARRAY_NS, f"d{op.name}/d{a.name}"), quiet,
                                           f"d{op.name}/d{a.name}"))


def install(op, env: dict) -> bool:
    """Bind the names the generated forward and backward of a fusible ``op`` call; False when
    ``op`` does not fuse."""
    from .. import _backend
    from . import backward, lazy
    state.sync()
    env["_fz_gate"] = _backend.core.fusion_gate  # large enough to fuse, or pending
    if op.name in REDUCTIONS:
        env["_lazy"] = lazy.reducer(REDUCTIONS[op.name])
        env["_fused_backward"] = _never
        return True
    if not fusible(op):
        return False
    from ..ops._opdef import saved_names
    env["_lazy"] = lazy.recorder(forward_step(op), "result" in saved_names(op))
    env["_fused_backward"] = backward.runner(op)
    return True


def _never(ctx, grad):
    return None


def register(fn) -> None:
    """The op's Function reads pending records without writing: no flush before it."""
    from .backward import NODES
    from .lazy import CONSUMERS
    CONSUMERS.add(fn)
    if fn._op.name not in REDUCTIONS:
        NODES[fn._backward_cls] = fn._op
