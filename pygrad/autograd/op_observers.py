"""Code that runs around every op call: the profiler and saved-tensor hooks.

``Function.apply`` is the one place every op passes through.  It checks ``observers`` (a
plain list, empty unless profiling or saved-tensor hooks are on) and, only when it holds
something, routes the call through ``observed_apply``, so ops cost nothing extra otherwise.
An observer is ``fn(cls, args, kwargs, call)``; it must return ``call()``'s result.
"""
from __future__ import annotations

from functools import partial

from .._backend import engine as _backend_engine

observers: list = []


def observed_apply(cls, args, kwargs):
    call = partial(_backend_engine.apply_function, cls, args, kwargs)
    for observer in reversed(observers):
        call = partial(observer, cls, args, kwargs, call)
    return call()


def add(observer) -> None:
    observers.append(observer)


def remove(observer) -> None:
    for i in range(len(observers) - 1, -1, -1):
        if observers[i] is observer:
            del observers[i]
            return
