"""``vmap``: a function of one sample mapped over a batch, as ``torch.func.vmap``."""
from __future__ import annotations

import functools
import os
import warnings

from .. import creation
from ..tensor import Tensor
from ._batched import _MISSING_RULE, BatchedTensor, NoStorage, active_levels, batched, is_batched_at, vmap_level
from ._pytree import broadcast_prefix, tree_flatten, tree_unflatten

_RANDOM_IN_ERROR_MODE = ("vmap: called random operation while in randomness error mode. Please either use the "
                         "'same' or 'different' randomness flags on vmap or perform the randomness operation out "
                         "of vmap")


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """``func`` mapped over dimension ``in_dims`` of its inputs, its outputs stacked along ``out_dims``."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        return _call(func, in_dims, out_dims, randomness, chunk_size, args, kwargs)
    return wrapped


def _name(func) -> str:
    return getattr(func, "__name__", type(func).__name__)


def _flat_in_dims(func, in_dims, args) -> tuple[list, list]:
    name = _name(func)
    if not isinstance(in_dims, (int, tuple)) or isinstance(in_dims, bool):
        raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to be int or a "
                         f"(potentially nested) tuple matching the structure of inputs, got: {type(in_dims)}.")
    if not args:
        raise ValueError(f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you are "
                         "trying to vmap over a function with no inputs. The latter is unsupported.")
    leaves, _ = tree_flatten(args)
    dims = broadcast_prefix(in_dims, args)
    if dims is None:
        raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with the "
                         f"structure of `inputs`. in_dims has structure {tree_flatten(in_dims)[1]} but inputs "
                         f"has structure {tree_flatten(args)[1]}.")
    for leaf, d in zip(leaves, dims):
        if d is None:
            continue
        if not isinstance(d, int):
            raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): in_dims must be int or None, "
                             f"got {type(d)}.")
        if not isinstance(leaf, Tensor):
            raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for an input but "
                             f"the input is of type {type(leaf)}. We cannot vmap over non-Tensor arguments, please "
                             "use None as the respective in_dim")
        n = leaf.dim()
        if not -n <= d < n:
            raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for some input, but "
                             f"that input is a Tensor of dimensionality {n} so expected in_dim to satisfy -{n} <= "
                             f"in_dim < {n}.")
    return leaves, [None if d is None else d % leaf.dim() for leaf, d in zip(leaves, dims)]


def _call(func, in_dims, out_dims, randomness, chunk_size, args, kwargs):
    leaves, dims = _flat_in_dims(func, in_dims, args)
    sizes = [leaf.shape[d] for leaf, d in zip(leaves, dims) if d is not None]
    if not sizes:
        raise ValueError(f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): at least one input must be "
                         "batched (in_dims must not all be None).")
    if len(set(sizes)) != 1:
        raise ValueError("vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                         f"{sizes} for the mapped dimension")
    size = sizes[0]
    spec = tree_flatten(args)[1]
    if chunk_size is None or chunk_size >= size:
        return _run(func, out_dims, randomness, leaves, dims, spec, size, kwargs)
    chunks = []
    for start in range(0, size, chunk_size):
        stop = min(start + chunk_size, size)
        part = [leaf if d is None else leaf.narrow(d, start, stop - start) for leaf, d in zip(leaves, dims)]
        chunks.append((_run(func, out_dims, randomness, part, dims, spec, stop - start, kwargs)))
    return _concat(chunks, out_dims)


def _concat(chunks, out_dims):
    from ..ops.shape import cat
    flat = [tree_flatten(c) for c in chunks]
    spec = flat[0][1]
    dims = broadcast_prefix(out_dims, chunks[0])
    out = []
    for i, d in enumerate(dims):
        parts = [f[0][i] for f in flat]
        out.append(parts[0] if d is None else cat(parts, d))
    return tree_unflatten(out, spec)


class _PerSampleRandomness(Exception):
    """A random draw under randomness='different': the function reruns once per sample."""


class VmapAwareGenerator:
    """The random generator once a vmap has run: in a thread inside a vmap with
    randomness='error' a draw raises PyTorch's error, with 'different' the function reruns per
    sample (each draws its own numbers); otherwise it is the generator it wraps."""

    def __init__(self, generator):
        self._generator = generator

    def __getattr__(self, name):
        modes = {level.randomness for level in active_levels()}
        if "error" in modes:
            raise RuntimeError(_RANDOM_IN_ERROR_MODE)
        if "different" in modes:
            raise _PerSampleRandomness
        return getattr(self._generator, name)


def _run(func, out_dims, randomness, leaves, dims, spec, size, kwargs):
    if not isinstance(creation._generator, VmapAwareGenerator):
        creation._generator = VmapAwareGenerator(creation._generator)
    try:
        with vmap_level(size, randomness) as level:
            inputs = [leaf if d is None else batched(leaf, d, level) for leaf, d in zip(leaves, dims)]
            outputs = func(*tree_unflatten(inputs, spec), **kwargs)
            return _unbatch(func, outputs, out_dims, level, size)
    except _PerSampleRandomness:
        if randomness != "different":
            raise  # an enclosing vmap's
    except NoStorage as error:  # code (outside the op table) computed on a batched tensor's values
        warnings.warn(_MISSING_RULE.format(_public_op(error.__traceback__)), UserWarning, stacklevel=4)
    results = []
    for i in range(size):
        sample = [leaf if d is None else leaf.select(d, i) for leaf, d in zip(leaves, dims)]
        results.append(func(*tree_unflatten(sample, spec), **kwargs))
    return _stack_samples(func, results, out_dims)


def _public_op(traceback) -> str:
    """The pygrad function the user's code called, where an op failed on a batched tensor."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    while traceback is not None:
        code = traceback.tb_frame.f_code
        if code.co_filename.startswith(package) and not code.co_filename.startswith(os.path.dirname(__file__)):
            return code.co_name
        traceback = traceback.tb_next
    return "unknown"


def _stack_samples(func, results, out_dims):
    from ..ops.shape import stack
    flat = [tree_flatten(r) for r in results]
    spec = flat[0][1]
    dims = _flat_out_dims(func, out_dims, results[0])
    out = []
    for i, d in enumerate(dims):
        parts = [f[0][i] for f in flat]
        out.append(parts[0] if d is None else stack(parts, d))
    return tree_unflatten(out, spec)


def _flat_out_dims(func, out_dims, outputs) -> list:
    dims = broadcast_prefix(out_dims, outputs)
    if dims is None:
        raise ValueError(f"vmap({_name(func)}, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible "
                         f"with the structure of `outputs`. out_dims has structure {tree_flatten(out_dims)[1]} "
                         f"but outputs has structure {tree_flatten(outputs)[1]}.")
    return dims


def _unbatch(func, outputs, out_dims, level: int, size: int):
    leaves, spec = tree_flatten(outputs)
    dims = _flat_out_dims(func, out_dims, outputs)
    out = []
    for leaf, d in zip(leaves, dims):
        if d is None:
            if is_batched_at(leaf, level):
                raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` can not return a BatchedTensor when "
                                 "out_dim is None")
            out.append(leaf)
            continue
        if not isinstance(leaf, Tensor):
            raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` must only return Tensors, got type "
                             f"{type(leaf)}. Did you mean to set out_dims= to None for output?")
        n = leaf.dim() + 1
        if not -n <= d < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
        d %= n
        if is_batched_at(leaf, level):
            value = leaf._value
            out.append(value if leaf._bdim == d else value.movedim(leaf._bdim, d))
        else:
            out.append(leaf.unsqueeze(d).expand(*leaf.shape[:d], size, *leaf.shape[d:]))
    return tree_unflatten(out, spec)


__all__ = ["vmap", "BatchedTensor"]
