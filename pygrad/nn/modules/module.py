"""``Module``: the base class of layers and models, with PyTorch's registration rules.

Assigning a ``Parameter`` or a ``Module`` to an attribute registers it; ``register_buffer``
adds a tensor that is saved in ``state_dict`` but not trained.  Names, ``repr``,
``state_dict`` keys and the errors of ``load_state_dict`` are PyTorch's.
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from typing import Callable, Iterator

import warnings

import numpy as np

from ...autograd import grad_mode
from ...autograd.function import add_hook
from ...tensor import Tensor
from ..parameter import Parameter, is_lazy
from ..utils.grads import zero_grads
from . import hooks
from .hooks import (register_module_backward_hook, register_module_forward_hook,  # noqa: F401 - torch's home
                    register_module_forward_pre_hook, register_module_full_backward_hook,
                    register_module_full_backward_pre_hook)

__all__ = ["Module"]


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    first = lines.pop(0)
    return first + "\n" + "\n".join(" " * spaces + line for line in lines)


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"_IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"

    __str__ = __repr__


def _tensor_type_name(value) -> str:
    if isinstance(value, Tensor):
        return f"torch.{value.dtype._tensor_type}"
    return type(value).__name__


# The global registries (filled in place by ``register_module_*_hook``), read by every call.
_GLOBAL_FORWARD_PRE_HOOKS, _GLOBAL_FORWARD_HOOKS = hooks.global_forward_pre_hooks, hooks.global_forward_hooks
_GLOBAL_BACKWARD_PRE_HOOKS, _GLOBAL_BACKWARD_HOOKS = hooks.global_backward_pre_hooks, hooks.global_backward_hooks

_HOOK_REGISTRIES = ("_forward_hooks", "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
                    "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_backward_hooks", "_backward_pre_hooks")


class Module:
    """Base class of every layer and model: subclasses set attributes in ``__init__`` and
    define ``forward``; calling the module runs ``forward``."""

    training: bool
    _version = 1

    def __init__(self, *args, **kwargs) -> None:
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() takes 1 positional argument but "
                            f"{len(args) + 1} were given")
        set_ = object.__setattr__
        set_(self, "training", True)
        set_(self, "_parameters", {})
        set_(self, "_buffers", {})
        set_(self, "_non_persistent_buffers_set", set())
        set_(self, "_modules", {})
        for registry in _HOOK_REGISTRIES:
            set_(self, registry, OrderedDict())
        set_(self, "_is_full_backward_hook", None)

    # -- forward ---------------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        """The computation of the module; call the module, not this, so hooks run."""
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        if (self._forward_hooks or self._forward_pre_hooks or self._backward_hooks or self._backward_pre_hooks
                or _GLOBAL_FORWARD_PRE_HOOKS or _GLOBAL_FORWARD_HOOKS or _GLOBAL_BACKWARD_PRE_HOOKS
                or _GLOBAL_BACKWARD_HOOKS):
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args: tuple, kwargs: dict):
        """PyTorch's ``Module._call_impl``: pre hooks, forward, hooks, backward hook plumbing."""
        result, called = None, set()
        try:
            for key, hook in (*hooks.global_forward_pre_hooks.items(), *self._forward_pre_hooks.items()):
                if key in self._forward_pre_hooks_with_kwargs:
                    new = hook(self, args, kwargs)
                    if new is not None:
                        if not (isinstance(new, tuple) and len(new) == 2):
                            raise RuntimeError("forward pre-hook must return None or a tuple of (new_args, "
                                               f"new_kwargs), but got {new}.")
                        args, kwargs = new
                else:
                    new = hook(self, args)
                    if new is not None:
                        args = new if isinstance(new, tuple) else (new,)
            full, legacy = self._backward_hooks_by_kind()
            pre = [*hooks.global_backward_pre_hooks.values(), *self._backward_pre_hooks.values()]
            backward_hook = hooks.BackwardHook(self, full, pre) if full or pre else None
            if backward_hook is not None:
                args = backward_hook.setup_input_hook(args)
            result = self.forward(*args, **kwargs)
            for key, hook in (*hooks.global_forward_hooks.items(), *self._forward_hooks.items()):
                if key in self._forward_hooks_always_called or key in hooks.global_forward_hooks_always_called:
                    called.add(key)
                if key in self._forward_hooks_with_kwargs or key in hooks.global_forward_hooks_with_kwargs:
                    new = hook(self, args, kwargs, result)
                else:
                    new = hook(self, args, result)
                if new is not None:
                    result = new
            if backward_hook is not None:
                if not isinstance(result, (Tensor, tuple)):
                    warnings.warn("For backward hooks to be called, module output should be a Tensor or a tuple "
                                  f"of Tensors but received {type(result)}")
                result = backward_hook.setup_output_hook(result)
            if legacy:
                var = result
                while not isinstance(var, Tensor):
                    var = next(v for v in var.values() if isinstance(v, Tensor)) if isinstance(var, dict) \
                        else var[0]
                if var.grad_fn is not None:
                    for hook in legacy:
                        var.grad_fn.register_hook(hooks.WrappedLegacyHook(hook, self))
                    hooks.warn_legacy_backward_hook(args, result, var.grad_fn)
            return result
        except Exception:
            self._run_always_called_hooks(args, kwargs, result, called)
            raise

    def _run_always_called_hooks(self, args, kwargs, result, called: set) -> None:
        for key, hook in hooks.global_forward_hooks.items():
            if key in hooks.global_forward_hooks_always_called and key not in called:
                try:
                    new = hook(self, args, result)
                    result = result if new is None else new
                except Exception as e:
                    warnings.warn("global module forward hook with ``always_call=True`` raised an exception that "
                                  f"was silenced as another error was raised in forward: {e}")
        for key, hook in self._forward_hooks.items():
            if key in self._forward_hooks_always_called and key not in called:
                try:
                    new = hook(self, args, kwargs, result) if key in self._forward_hooks_with_kwargs \
                        else hook(self, args, result)
                    result = result if new is None else new
                except Exception as e:
                    warnings.warn("module forward hook with ``always_call=True`` raised an exception that was "
                                  f"silenced as another error was raised in forward: {e}")

    def _backward_hooks_by_kind(self) -> tuple[list, list]:
        full, legacy = hooks.global_full_backward_hooks()
        own = list(self._backward_hooks.values())
        if self._is_full_backward_hook is True:
            full = full + own
        elif self._is_full_backward_hook is False:
            legacy = legacy + own
        return full, legacy

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False):
        """``hook(module, args)`` (or ``hook(module, args, kwargs)``) before ``forward``."""
        handle = add_hook(self._forward_pre_hooks, hook, (self._forward_pre_hooks_with_kwargs,))
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False):
        """``hook(module, args, output)`` (or ``hook(module, args, kwargs, output)``) after ``forward``."""
        handle = add_hook(self._forward_hooks, hook,
                          (self._forward_hooks_with_kwargs, self._forward_hooks_always_called))
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False):
        """``hook(module, grad_output)`` when the gradients of the outputs are known."""
        handle = add_hook(self._backward_pre_hooks, hook)
        if prepend:
            self._backward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False):
        """``hook(module, grad_input, grad_output)`` when the gradients of the inputs are known."""
        if self._is_full_backward_hook is False:
            raise RuntimeError(hooks.MIXED_BACKWARD_HOOKS)
        object.__setattr__(self, "_is_full_backward_hook", True)
        handle = add_hook(self._backward_hooks, hook)
        if prepend:
            self._backward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_backward_hook(self, hook: Callable):
        """The legacy backward hook, attached to the last node of ``forward``."""
        if self._is_full_backward_hook is True:
            raise RuntimeError(hooks.MIXED_BACKWARD_HOOKS)
        object.__setattr__(self, "_is_full_backward_hook", False)
        return add_hook(self._backward_hooks, hook)

    # -- registration -----------------------------------------------------------------------
    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or None) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter", self._parameters)
        if param is None:
            self._parameters[name] = None
        elif not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_tensor_type_name(param)}' object to parameter '{name}' "
                            "(torch.nn.Parameter or None required)")
        elif param.grad_fn is not None:
            raise ValueError(f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must "
                             f"be created explicitly. To express '{name}' as a function of another Tensor, "
                             "compute the value in the forward() method.")
        else:
            self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a tensor that is state but not a parameter (saved in ``state_dict`` when persistent)."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer", self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(torch Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: "Module | None") -> None:
        """Register ``module`` as the child ``name``."""
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {type(name).__name__}")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        if "." in name:
            raise KeyError(f'module name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError('module name can\'t be empty string ""')
        self._modules[name] = module

    register_module = add_module

    def _check_name(self, name, kind: str, registry: dict) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain "."')
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if hasattr(self, name) and name not in registry:
            raise KeyError(f"attribute '{name}' already exists")

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name, keep="_parameters")
            self.register_parameter(name, value)
            return
        if params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{_tensor_type_name(value)}' as parameter '{name}' "
                                "(torch.nn.Parameter or None expected)")
            self.register_parameter(name, value)
            return
        modules = d.get("_modules")
        if isinstance(value, Module):
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name, keep="_modules")
            modules[name] = value
            return
        if modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{_tensor_type_name(value)}' as child module '{name}' "
                                "(torch.nn.Module or None expected)")
            modules[name] = value
            return
        buffers = d.get("_buffers")
        if buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{_tensor_type_name(value)}' as buffer '{name}' "
                                "(torch.Tensor or None expected)")
            buffers[name] = value
            return
        object.__setattr__(self, name, value)

    def _forget(self, name: str, keep: str) -> None:
        self.__dict__.pop(name, None)
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry != keep:
                self.__dict__[registry].pop(name, None)
        if keep != "_buffers":
            self._non_persistent_buffers_set.discard(name)

    def __getattr__(self, name: str):
        d = self.__dict__
        parameters = d.get("_parameters")
        if parameters is not None and name in parameters:  # (None: before Module.__init__ ran)
            return parameters[name]
        for registry in ("_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(registry, ()):
                del self.__dict__[registry][name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    def get_submodule(self, target: str) -> "Module":
        """The submodule at the dotted path ``target``."""
        module = self
        if target == "":
            return module
        for item in target.split("."):
            if not hasattr(module, item):
                raise AttributeError(f"{module._get_name()} has no attribute `{item}`")
            module = getattr(module, item)
            if not isinstance(module, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return module

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path ``target``."""
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if name not in module._parameters:
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return module._parameters[name]

    # -- iteration (iterative walks over the module tree) -------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
                      ) -> Iterator[tuple[str, "Module"]]:
        """Every module of the tree, depth first in registration order, each once."""
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if module in memo:
                    continue
                memo.add(module)
            yield name, module
            children = [(name + ("." if name else "") + child_name, child)
                        for child_name, child in module._modules.items() if child is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator["Module"]:
        """This module and all its descendants."""
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        """``(name, module)`` pairs of the direct children."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and module not in seen:
                seen.add(module)
                yield name, module

    def children(self) -> Iterator["Module"]:
        """The direct child modules."""
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool = True):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or (remove_duplicate and value in seen):
                    continue
                if remove_duplicate:
                    seen.add(value)
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
                         ) -> Iterator[tuple[str, Parameter]]:
        """``(name, parameter)`` pairs, with dotted names for children's."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The module's parameters (with its children's when ``recurse``)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
                      ) -> Iterator[tuple[str, Tensor]]:
        """``(name, buffer)`` pairs, with dotted names for children's."""
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """The module's buffers (with its children's when ``recurse``)."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # -- modes and gradients --------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Set training mode (or evaluation mode with ``mode=False``)."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> "Module":
        """Set evaluation mode (dropout off, batch norm uses running statistics)."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Set ``requires_grad`` of every parameter."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the parameters' gradients (to None by default)."""
        zero_grads(self.parameters(), set_to_none)

    def apply(self, fn: Callable[["Module"], None]) -> "Module":
        """Call ``fn`` on every submodule (children first) and then on this module."""
        order = []
        stack = [(self, False)]
        while stack:
            module, expanded = stack.pop()
            if expanded:
                order.append(module)
                continue
            stack.append((module, True))
            stack.extend((child, False) for child in reversed(list(module.children())))
        for module in order:
            fn(module)
        return self

    def _apply_to_tensors(self, fn: Callable[[np.ndarray], np.ndarray]) -> "Module":
        """Replace the storage of every parameter and buffer by ``fn(array)`` (dtype casts)."""
        for module in self.modules():
            for p in module._parameters.values():
                if p is not None:
                    p._data = fn(p._data)
                    if p._grad is not None:
                        p._grad._data = fn(p._grad._data)
            for name, b in module._buffers.items():
                if b is not None and b.dtype.is_floating_point:
                    b._data = fn(b._data)
        return self

    def to(self, *args, **kwargs) -> "Module":
        """Cast parameters and buffers to a dtype (a device other than the CPU raises)."""
        from ..._device import parse_to
        device, dtype, _, _ = parse_to(args, kwargs)
        if device is not None and device.type != "cpu":
            raise RuntimeError(f"pygrad runs on the CPU only; cannot move a module to {str(device)!r}")
        if dtype is None:
            return self
        if not dtype.is_floating_point:
            raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, but got desired "
                            f"dtype={dtype}")
        return self._apply_to_tensors(lambda a: a.astype(dtype.numpy) if a.dtype.kind == "f" else a)

    def double(self) -> "Module":
        """Cast the floating-point parameters and buffers to float64."""
        from ... import dtypes
        return self.to(dtypes.float64)

    def float(self) -> "Module":
        """Cast the floating-point parameters and buffers to float32."""
        from ... import dtypes
        return self.to(dtypes.float32)

    def half(self) -> "Module":
        """Cast the floating-point parameters and buffers to float16."""
        from ... import dtypes
        return self.to(dtypes.float16)

    def cpu(self) -> "Module":
        """The module itself: everything lives on the CPU."""
        return self

    # -- state dict ---------------------------------------------------------------------------
    def state_dict(self, *, destination=None, prefix: str = "", keep_vars: bool = False) -> OrderedDict:
        """Parameters and persistent buffers by dotted name, detached unless ``keep_vars``."""
        if destination is None:
            destination = OrderedDict()
        for module_prefix, module in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            dot = module_prefix + "." if module_prefix else ""
            for name, p in module._parameters.items():
                if p is not None:
                    destination[dot + name] = p if keep_vars else p.detach()
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent_buffers_set:
                    destination[dot + name] = b if keep_vars else b.detach()
        return destination

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False) -> _IncompatibleKeys:
        """Copy values into this module's parameters and buffers (in place, unless ``assign``)."""
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing, unexpected, errors = [], [], []
        expected = set()
        for module_prefix, module in self.named_modules(remove_duplicate=False):
            dot = module_prefix + "." if module_prefix else ""
            local = [(n, p, "_parameters") for n, p in module._parameters.items() if p is not None]
            local += [(n, b, "_buffers") for n, b in module._buffers.items()
                      if b is not None and n not in module._non_persistent_buffers_set]
            for name, current, registry in local:
                key = dot + name
                expected.add(key)
                if key not in state_dict:
                    missing.append(key)
                    continue
                value = state_dict[key]
                if is_lazy(current) and isinstance(value, Tensor) and not is_lazy(value):
                    current.materialize(value.shape)
                if not isinstance(value, Tensor):
                    errors.append(f'While copying the parameter named "{key}", expected torch.Tensor or '
                                  f"Tensor-like object from checkpoint but received {type(value)}")
                    continue
                if value.shape != current.shape:
                    errors.append(f"size mismatch for {key}: copying a param with shape {value.shape} from "
                                  f"checkpoint, the shape in current model is {current.shape}.")
                    continue
                if assign:
                    new = Parameter(value, current.requires_grad) if registry == "_parameters" \
                        and not isinstance(value, Parameter) else value
                    getattr(module, registry)[name] = new
                else:
                    with grad_mode.no_grad():
                        np.copyto(current._data, value._data, casting="unsafe")
                        current._version.value += 1
        if strict:
            unexpected = [k for k in state_dict.keys() if k not in expected]
        if strict and (missing or unexpected):
            lines = []
            if missing:
                lines.append("Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing)))
            if unexpected:
                lines.append("Unexpected key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in unexpected)))
            errors = lines + errors
        if errors:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                self._get_name(), "\n\t".join(errors)))
        return _IncompatibleKeys(missing, unexpected)

    # -- printing -----------------------------------------------------------------------------
    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        """The text inside the module's ``repr`` parentheses."""
        return ""

    def __repr__(self) -> str:
        # Built bottom-up with an explicit stack so deep models print without recursion.
        # Containers with their own __repr__ (ModuleList) print themselves.
        order, stack = [], [self]
        while stack:
            module = stack.pop()
            order.append(module)
            if module is self or type(module).__repr__ is Module.__repr__:
                stack.extend(m for m in module._modules.values() if m is not None)
        text = {}
        for module in reversed(order):
            if module is not self and type(module).__repr__ is not Module.__repr__:
                text[id(module)] = repr(module)
                continue
            extra = module.extra_repr()
            lines = extra.split("\n") if extra else []
            for key, child in module._modules.items():
                child_text = "None" if child is None else text[id(child)]
                lines.append(f"({key}): " + _addindent(child_text, 2))
            body = module._get_name() + "("
            if lines:
                if len(lines) == 1 and not module._modules:
                    body += lines[0]
                else:
                    body += "\n  " + "\n  ".join(lines) + "\n"
            text[id(module)] = body + ")"
        return text[id(self)]

    def __setstate__(self, state):
        self.__dict__.update(state)
        for registry in _HOOK_REGISTRIES:  # pickled before these existed
            self.__dict__.setdefault(registry, OrderedDict())
        self.__dict__.setdefault("_is_full_backward_hook", None)
