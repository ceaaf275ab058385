"""``torch.utils.checkpoint``: trade compute for memory by recomputing a block's forward in backward.

Both of PyTorch's variants give the gradients a plain forward gives:

- ``use_reentrant=True``: the block runs without a graph; one ``CheckpointFunctionBackward``
  node reruns it with a graph during backward and backpropagates through that.
- ``use_reentrant=False``: the block's graph is recorded, but the tensors its ops save are
  dropped (saved-tensor hooks) and recomputed, all at once, the first time backward needs one.

The random state (pygrad's generator) is restored for the recomputation, so dropout in the
block draws the same mask twice.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable

from .. import creation
from ..autograd import grad_mode
from ..autograd.function import Function
from ..autograd.graph import saved_tensors_hooks
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]

_REENTRANT_WARNING = (
    "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting in PyTorch 2.9, "
    "calling checkpoint without use_reentrant will raise an exception. use_reentrant=False is recommended, but if "
    "you need to preserve the current default behavior, you can pass use_reentrant=True. Refer to docs for more "
    "details on the differences between the two variants.")


class _RngState:
    def __init__(self, enabled: bool):
        self.state = creation.generator().bit_generator.state if enabled else None

    def __enter__(self):
        if self.state is not None:
            gen = creation.generator()
            self.after, gen.bit_generator.state = gen.bit_generator.state, self.state
        return self

    def __exit__(self, *exc):
        if self.state is not None:
            creation.generator().bit_generator.state = self.after


class CheckpointFunction(Function):
    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        ctx.run_function = run_function
        ctx.rng = _RngState(preserve_rng_state)
        ctx.tensor_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.inputs = [None if isinstance(a, Tensor) else a for a in args]
        ctx.save_for_backward(*(a for a in args if isinstance(a, Tensor)))
        with grad_mode.no_grad():
            return run_function(*args)

    @staticmethod
    def backward(ctx, *grads):
        from ..autograd import backward
        inputs = list(ctx.inputs)
        tensors = ctx.saved_tensors
        for i, t in zip(ctx.tensor_positions, tensors):
            d = t.detach()
            d.requires_grad_(t.requires_grad)
            inputs[i] = d
        with ctx.rng, grad_mode.enable_grad():
            outputs = ctx.run_function(*inputs)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        pairs = [(o, g) for o, g in zip(outputs, grads) if isinstance(o, Tensor) and o.requires_grad]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
        backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None) + tuple(inputs[i].grad if i in ctx.tensor_positions else None
                                    for i in range(len(inputs)))


def _checkpoint_without_reentrant(function: Callable, preserve_rng_state: bool, args, kwargs):
    """Record the block's graph with its saved tensors replaced by slots recomputed on first use."""
    rng = _RngState(preserve_rng_state)
    recomputed: list = []
    state = {"done": False}

    def pack(t):
        return _next(state)  # the tensor itself is dropped: only its position is kept

    def unpack(index):
        if not state["done"]:
            collected = []
            with saved_tensors_hooks(lambda t: collected.append(t.detach()) or len(collected) - 1, lambda i: i):
                with rng, grad_mode.enable_grad():
                    function(*_detached(args), **kwargs)
            recomputed.extend(collected)
            state["done"] = True
        if index >= len(recomputed):
            raise RuntimeError("torch.utils.checkpoint: trying to save more tensors during recomputation than "
                               "during the original forward pass.")
        return recomputed[index]

    with saved_tensors_hooks(pack, unpack):
        return function(*args, **kwargs)


def _next(state) -> int:
    index = state.get("n", 0)
    state["n"] = index + 1
    return index


def _detached(args) -> list:
    out = []
    for a in args:
        if isinstance(a, Tensor):
            d = a.detach()
            d.requires_grad_(a.requires_grad)
            out.append(d)
        else:
            out.append(a)
    return out


def checkpoint(function: Callable, *args, use_reentrant: bool | None = None, context_fn=None,
               determinism_check: str = "default", debug: bool = False, preserve_rng_state: bool = True,
               **kwargs) -> Any:
    """Run ``function`` without keeping its intermediate results; recompute them during backward."""
    if use_reentrant is None:
        warnings.warn(_REENTRANT_WARNING, stacklevel=2)
        use_reentrant = True
    if use_reentrant:
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
        if not any(isinstance(a, Tensor) and a.requires_grad for a in args) and grad_mode.is_grad_enabled():
            warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2)
        return CheckpointFunction.apply(function, preserve_rng_state, *args)
    return _checkpoint_without_reentrant(function, preserve_rng_state, args, kwargs)


def checkpoint_sequential(functions, segments: int, input, use_reentrant: bool | None = None, **kwargs):  # noqa: A002
    """Run ``functions`` (a Sequential or a list of modules) in ``segments`` checkpointed chunks."""
    if use_reentrant is None:
        warnings.warn(_REENTRANT_WARNING.replace("torch.utils.checkpoint:", "torch.utils.checkpoint."
                                                 "checkpoint_sequential:"), stacklevel=2)
        use_reentrant = True
    functions = list(functions.children()) if hasattr(functions, "children") else list(functions)

    def run(start, end):
        def forward(x):
            for j in range(start, end + 1):
                x = functions[j](x)
            return x
        return forward

    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, **kwargs)  # noqa: A001
    return run(end + 1, len(functions) - 1)(input)
