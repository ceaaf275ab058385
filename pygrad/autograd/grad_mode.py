"""Grad mode: whether operations record a graph.  Thread-local, like PyTorch's."""
from __future__ import annotations

import functools
import inspect
import threading
from typing import Any, Callable, Literal, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
           "inference_mode", "is_inference_mode_enabled"]


class _State(threading.local):
    enabled = True
    inference = False


_state = _State()


def is_grad_enabled() -> bool:
    """Whether operations are recorded for backward now."""
    return _state.enabled


def is_inference_mode_enabled() -> bool:
    """Whether ``inference_mode`` is on."""
    return _state.inference


class _DecoratorContextManager:
    """A context manager that also works as a decorator, with or without parentheses."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        # ``@no_grad`` without parentheses hands the function straight to the class.
        if cls is not set_grad_enabled and len(args) == 1 and not kwargs and callable(args[0]):
            return cls()(args[0])
        return super().__new__(cls)

    def __call__(self, func: _F) -> _F:
        if inspect.isgeneratorfunction(func):
            raise TypeError(f"{type(self).__name__} cannot decorate a generator function")

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.clone():
                return func(*args, **kwargs)
        return wrapper  # type: ignore[return-value]  # functools.wraps keeps the signature

    def clone(self) -> _DecoratorContextManager:
        """A new context manager of the same kind."""
        return type(self)()


class no_grad(_DecoratorContextManager):
    """Disable graph recording: results have ``requires_grad=False`` and no ``grad_fn``."""

    def __enter__(self) -> None:
        self._prev = _state.enabled
        _state.enabled = False

    def __exit__(self, *exc: object) -> Literal[False]:
        _state.enabled = self._prev
        return False


class enable_grad(_DecoratorContextManager):
    """Re-enable graph recording inside ``no_grad``."""

    def __enter__(self) -> None:
        self._prev = _state.enabled
        _state.enabled = True

    def __exit__(self, *exc: object) -> Literal[False]:
        _state.enabled = self._prev
        return False


class set_grad_enabled(_DecoratorContextManager):
    """``set_grad_enabled(False)`` switches grad mode at once; as a context it restores it on exit."""

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled() expects a bool, got {type(mode).__name__}")
        self._prev = _state.enabled
        self.mode = mode
        _state.enabled = mode

    def __call__(self, func: _F) -> _F:
        # Used as a decorator the switch must wait for the call, so undo it now.
        _state.enabled = self._prev
        return super().__call__(func)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> Literal[False]:
        _state.enabled = self._prev
        return False

    def clone(self) -> _DecoratorContextManager:
        """A new context manager of the same kind."""
        return set_grad_enabled(self.mode)


class inference_mode(_DecoratorContextManager):
    """Like ``no_grad`` (pygrad has no separate inference tensors)."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = mode

    def __enter__(self) -> None:
        self._prev = (_state.enabled, _state.inference)
        if self.mode:
            _state.enabled, _state.inference = False, True

    def __exit__(self, *exc: object) -> Literal[False]:
        _state.enabled, _state.inference = self._prev
        return False

    def clone(self) -> _DecoratorContextManager:
        """A new context manager of the same kind."""
        return inference_mode(self.mode)
