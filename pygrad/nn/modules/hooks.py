"""Module hooks: the global registries, and the identity nodes that carry full backward hooks.

A module with full backward (pre) hooks passes its tensor inputs and outputs through
``BackwardHookFunction`` (an identity, ``grad_fn=<BackwardHookFunctionBackward>`` as in
PyTorch).  The output node's post hook sees the gradients of the outputs (the pre hooks run
there); the input node's post hook sees the gradients of the inputs and calls the full hooks
with both.  Semantics and messages follow ``torch.utils.hooks.BackwardHook``.
"""
from __future__ import annotations

import warnings
from collections import OrderedDict

from ...autograd import grad_mode
from ...autograd.function import Function, add_hook
from ...tensor import Tensor

__all__ = ["register_module_forward_pre_hook", "register_module_forward_hook",
           "register_module_backward_hook", "register_module_full_backward_pre_hook",
           "register_module_full_backward_hook"]

global_forward_pre_hooks: OrderedDict = OrderedDict()
global_forward_hooks: OrderedDict = OrderedDict()
global_forward_hooks_with_kwargs: OrderedDict = OrderedDict()
global_forward_hooks_always_called: OrderedDict = OrderedDict()
global_backward_pre_hooks: OrderedDict = OrderedDict()
global_backward_hooks: OrderedDict = OrderedDict()
_global_is_full_backward_hook: bool | None = None  # set by the first global backward hook

MIXED_BACKWARD_HOOKS = ("Cannot use both regular backward hooks and full backward hooks on a single Module. "
                        "Please use only one of them.")


def global_full_backward_hooks() -> tuple[list, list]:
    """(full, legacy) global backward hooks."""
    hooks = list(global_backward_hooks.values())
    full = _global_is_full_backward_hook
    return (hooks, []) if full else ([], hooks) if full is False else ([], [])


def register_module_forward_pre_hook(hook):
    """``hook(module, args)`` before every module's forward; it may return new args."""
    return add_hook(global_forward_pre_hooks, hook)


def register_module_forward_hook(hook, *, with_kwargs: bool = False, always_call: bool = False):
    """``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with ``with_kwargs``)
    after every module's forward; it may return a new output."""
    handle = add_hook(global_forward_hooks, hook,
                      (global_forward_hooks_with_kwargs, global_forward_hooks_always_called))
    if with_kwargs:
        global_forward_hooks_with_kwargs[handle.id] = True
    if always_call:
        global_forward_hooks_always_called[handle.id] = True
    return handle


def register_module_backward_hook(hook):
    """The legacy global backward hook (on the last node of each module's forward)."""
    global _global_is_full_backward_hook
    if _global_is_full_backward_hook is True:
        raise RuntimeError("Cannot use both regular backward hooks and full backward hooks as a global Module "
                           "hook. Please use only one of them.")
    _global_is_full_backward_hook = False
    return add_hook(global_backward_hooks, hook)


def register_module_full_backward_pre_hook(hook):
    return add_hook(global_backward_pre_hooks, hook)


def register_module_full_backward_hook(hook):
    global _global_is_full_backward_hook
    if _global_is_full_backward_hook is False:
        raise RuntimeError("Cannot use both regular backward hooks and full backward hooks as a global Module "
                           "hook. Please use only one of them.")
    _global_is_full_backward_hook = True
    return add_hook(global_backward_hooks, hook)


class BackwardHookFunction(Function):
    """Identity on the tensors it gets; its node is where the module's gradients are observed."""

    @staticmethod
    def forward(ctx, *tensors):
        ctx.mark_non_differentiable(*[t for t in tensors if not t.requires_grad])
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        return grads

    @staticmethod
    def jvp(ctx, *tangents):
        return tangents


def _pack_with_none(indices, values, size: int) -> tuple:
    packed = [None] * size
    for index, value in zip(indices, values):
        packed[index] = value
    return tuple(packed)


class BackwardHook:
    """The full backward (pre) hooks of one call of one module."""

    def __init__(self, module, user_hooks: list, user_pre_hooks: list):
        self.module, self.user_hooks, self.user_pre_hooks = module, user_hooks, user_pre_hooks
        self.grad_outputs = None
        self.n_inputs = self.n_outputs = -1
        self.input_tensors_index = self.output_tensors_index = None

    def _through_identity(self, on_node, args: tuple):
        index = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        tensors = [args[i] for i in index]
        if not (any(t.requires_grad for t in tensors) and grad_mode.is_grad_enabled()):
            return args, None
        new = BackwardHookFunction.apply(*tensors)
        on_node(next(t.grad_fn for t in new if t.grad_fn is not None))
        out = list(args)
        for i, t in zip(index, new):
            out[i] = t
        return tuple(out), index

    def setup_input_hook(self, args: tuple) -> tuple:
        def on_node(node):
            def hook(grad_inputs, _):
                if self.grad_outputs is None:  # a gradient that did not pass through the outputs
                    return None
                res = _pack_with_none(self.input_tensors_index, grad_inputs, self.n_inputs)
                for user_hook in self.user_hooks:
                    out = user_hook(self.module, res, self.grad_outputs)
                    if out is None:
                        continue
                    if len(out) != len(res):
                        raise RuntimeError("Backward hook returned an invalid number of grad_input, "
                                           f"got {len(out)}, but expected {len(res)}")
                    res = out
                self.grad_outputs = None
                return tuple(res[i] for i in self.input_tensors_index)
            node.register_hook(hook)

        result, self.input_tensors_index = self._through_identity(on_node, args)
        self.n_inputs = len(args)
        return result

    def setup_output_hook(self, result):
        def on_node(node):
            def hook(_, grad_outputs):
                self.grad_outputs = _pack_with_none(self.output_tensors_index, grad_outputs, self.n_outputs)
                expected = len(self.grad_outputs)
                for pre_hook in self.user_pre_hooks:
                    new = pre_hook(self.module, self.grad_outputs)
                    if new is None:
                        continue
                    if len(new) != expected:
                        raise RuntimeError("Backward pre hook returned an invalid number of grad_output, "
                                           f"got {len(new)}, but expected {expected}")
                    self.grad_outputs = new
                local = self.grad_outputs
                if self.input_tensors_index is None:
                    warnings.warn("Full backward hook is firing when gradients are computed with respect to module "
                                  "outputs since no inputs require gradients. See https://docs.pytorch.org/docs/main/"
                                  "generated/torch.nn.Module.html#torch.nn.Module.register_full_backward_hook for "
                                  "more details.", stacklevel=5)
                    grad_inputs = _pack_with_none([], [], self.n_inputs)
                    for user_hook in self.user_hooks:
                        res = user_hook(self.module, grad_inputs, self.grad_outputs)
                        if res is not None and not (isinstance(res, tuple) and all(g is None for g in res)):
                            raise RuntimeError("Backward hook for Modules where no input requires gradient should "
                                               "always return None or None for all gradients.")
                    self.grad_outputs = None
                return tuple(local[i] for i in self.output_tensors_index)
            node.register_hook(hook)

        single = not isinstance(result, tuple)
        outputs = (result,) if single else result
        new, self.output_tensors_index = self._through_identity(on_node, outputs)
        self.n_outputs = len(outputs)
        return new[0] if single else new


class WrappedLegacyHook:
    """A legacy ``register_backward_hook`` hook run as a post hook of the output's node."""

    def __init__(self, hook, module):
        self.hook, self.module = hook, module

    def __call__(self, grad_inputs, grad_outputs):
        return self.hook(self.module, grad_inputs, grad_outputs)


def warn_legacy_backward_hook(inputs: tuple, result, node) -> None:
    """PyTorch's warnings for the cases where a legacy backward hook misses gradients."""
    def warn(text: str) -> None:
        warnings.warn(text, FutureWarning, stacklevel=4)

    if not isinstance(result, Tensor):
        if not (isinstance(result, tuple) and all(isinstance(r, Tensor) for r in result)):
            return warn("Using non-full backward hooks on a Module that does not return a single Tensor or a tuple "
                        "of Tensors is deprecated and will be removed in future versions. This hook will be missing "
                        "some of the grad_output. Please use register_full_backward_hook to get the documented "
                        "behavior.")
    else:
        result = (result,)
    if not (isinstance(inputs, tuple) and all(isinstance(i, Tensor) for i in inputs)):
        return warn("Using non-full backward hooks on a Module that does not take as input a single Tensor or a "
                    "tuple of Tensors is deprecated and will be removed in future versions. This hook will be "
                    "missing some of the grad_input. Please use register_full_backward_hook to get the documented "
                    "behavior.")
    out_nodes = {r.grad_fn for r in result if r.grad_fn is not None}
    if not out_nodes or (len(out_nodes) == 1 and node not in out_nodes):
        warn("Using a non-full backward hook when outputs are nested in python data structure is deprecated and "
             "will be removed in future versions. This hook will be missing some grad_output.")
    elif len(out_nodes) > 1:
        warn("Using a non-full backward hook when outputs are generated by different autograd Nodes is deprecated "
             "and will be removed in future versions. This hook will be missing some grad_output. Please use "
             "register_full_backward_hook to get the documented behavior.")
    elif {i.grad_fn for i in inputs if i.grad_fn is not None} != {n[0] for n in node.next_functions}:
        warn("Using a non-full backward hook when the forward contains multiple autograd Nodes is deprecated and "
             "will be removed in future versions. This hook will be missing some grad_input. Please use "
             "register_full_backward_hook to get the documented behavior.")
