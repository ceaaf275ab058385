"""The blocked evaluator: a DAG of elementwise steps run over cache-sized blocks.

A program is a list of leaves (whole arrays, sliced per block, 0-d scalars, or smaller arrays
broadcast to the program's shape, gathered per block: ``Broadcast``) and steps
(``fn(*registers, *attrs)``), each step's value a register.  Every block of ``state.block``
elements runs the whole program, so intermediates are block-sized buffers that stay in cache,
and only the leaves are read from memory and only the outputs written.  The steps call the very
callables the eager ops call (the table's kernels and expressions): elementwise results are the
same numbers as eager ones.

Two evaluators run a program, with the same results: on the native backend the compiled one
(``pygrad/fusion/lower.py`` traces the steps into NumPy's inner loops, ``pygrad/_native/fused.pyx``
runs them over OpenMP threads); otherwise, and for a step that cannot be traced, a Python
function per block (``_source``) calls the steps on slices.

A final ``sum``/``mean`` sums each block as ``np.add.reduce`` sums a contiguous array (pairwise,
from 0) in the accumulator dtype (``sum``: the result dtype; ``mean``: float64 for float32,
the block widened first), then adds the block sums in block order the same way and ``mean``
divides by the element count.  So fused sums do not depend on the evaluator or the thread count,
and can differ from eager ones in the last bits.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _backend
from . import lower
from ._state import state


class Step:
    """What one op contributes to a program: a callable on arrays and whether it runs with
    floating-point warnings silenced (as the eager op does)."""

    __slots__ = ("fn", "quiet", "name", "kernel")

    # Plain arithmetic: computing it again from its inputs costs less than storing it and reading
    # it back.  A power by a number is one when the kernels compute it without pow().
    CHEAP = frozenset({"add", "sub", "rsub", "mul", "div", "neg", "abs", "deg2rad", "rad2deg"})
    POWER = "_pow_number"  # the op of ``x ** number``
    CHEAP_EXPONENTS = (2, 1, 0, -1, 0.5)

    def __init__(self, fn, quiet: bool, name: str, kernel: str | None = None):
        self.fn, self.quiet, self.name, self.kernel = fn, quiet, name, kernel

    def cheap(self, attrs) -> bool:
        if self.name == self.POWER:
            return attrs[0] in self.CHEAP_EXPONENTS
        return self.name in self.CHEAP

    def bound(self):
        """The callable, a backend kernel looked up now (the active backend's)."""
        if self.kernel is None:
            return self.fn
        from .._backend import kernels
        return getattr(kernels, self.kernel)


class Broadcast:
    """A read-only leaf smaller than the program's shape, broadcast to it as NumPy broadcasts
    (a bias row ``(N,)`` or ``(1, N)``, a column ``(M, 1)`` against ``(M, N)``).

    ``array`` is the operand itself (C-contiguous, never written), ``shape`` the program's.
    ``block(s, e)`` gathers elements ``s:e`` of the flattened broadcast into a block-sized
    array.  An evaluator that cannot read such a leaf per block must decline the program (the
    Python one below reads it with ``block``); in backward its gradient leaves the chain full
    size and the engine reduces it to the operand's shape, as it does unfused."""

    __slots__ = ("array", "shape")

    def __init__(self, array: np.ndarray, shape):
        self.array, self.shape = array, tuple(shape)

    @staticmethod
    def fits(array: np.ndarray, shape) -> bool:
        """Whether ``array`` broadcasts to ``shape`` (and is not already that shape)."""
        if array.shape == tuple(shape) or array.ndim > len(shape):
            return False
        return all(a in (1, b) for a, b in zip(array.shape[::-1], tuple(shape)[::-1]))

    def block(self, start: int, stop: int) -> np.ndarray:
        src_shape = (1,) * (len(self.shape) - self.array.ndim) + self.array.shape
        index = np.arange(start, stop, dtype=np.intp)
        source = np.zeros(stop - start, np.intp)
        step = src_step = 1
        for size, src_size in zip(self.shape[::-1], src_shape[::-1]):
            if src_size != 1:
                source += (index // step % size) * src_step
            step *= size
            src_step *= src_size
        return self.array.reshape(-1).take(source)


_LEAVES = (np.ndarray, Broadcast)  # what a record's input is when it is not another record


def _leaf_kind(a) -> int:
    """0: a 0-d array (or None), read whole; 1: an array of the program's shape, sliced per
    block; 2: a Broadcast, gathered per block."""
    if isinstance(a, Broadcast):
        return 2
    return 1 if isinstance(a, np.ndarray) and a.ndim > 0 else 0


class Program:
    """Leaves, steps and outputs, built from records (``add_record``) or by hand (backward)."""

    def __init__(self):
        self.leaves: list = []       # arrays: whole (C-contiguous) or 0-d
        self.steps: list = []        # (Step, register indices, attrs)
        self._leaf_ids: dict = {}
        self._memo: dict = {}        # id(record) -> register
        # What the program's shape key (``_key``) is made of, kept as leaves and steps are added.
        self._kinds: list = []       # _leaf_kind of each leaf
        self._dtypes: list = []      # dtype of each leaf (None for None)
        self._step_keys: list = []   # (id(step), args, attrs) of each step
        self._broadcasts = False     # a Broadcast leaf
        self._array_attrs = False    # an attribute that is an array of more than 0 dimensions

    def leaf(self, array: np.ndarray) -> int:
        key = id(array)
        reg = self._leaf_ids.get(key)
        if reg is None:
            reg = self._leaf_ids[key] = ("leaf", len(self.leaves))
            self.leaves.append(array)
            kind = (1 if array.ndim else 0) if type(array) is np.ndarray else _leaf_kind(array)
            self._kinds.append(kind)
            if kind == 2:
                self._broadcasts = True
                self._dtypes.append(array.array.dtype)
            else:
                self._dtypes.append(None if array is None else array.dtype)
        return reg

    def _added(self, step, args, attrs) -> None:
        self._step_keys.append((id(step), args, attrs))
        if attrs and not self._array_attrs:
            for a in attrs:
                if type(a) is np.ndarray and a.ndim:
                    self._array_attrs = True

    def shape(self):
        """The chain's shape: that of its whole leaves (None when it has none)."""
        for a in self.leaves:
            if isinstance(a, np.ndarray) and a.ndim or isinstance(a, Broadcast):
                return a.shape
        return None

    def attr_arrays(self) -> list:
        """The attributes that are arrays of the chain's shape, in step order (they are read
        block by block as the whole leaves are)."""
        if not self._array_attrs:
            return []
        shape = self.shape()
        return [a for _, _, attrs in self.steps if attrs for a in attrs if _is_whole(a, shape)]

    def step(self, step: Step, args, attrs=()) -> tuple:
        args, attrs = tuple(args), tuple(attrs)
        self.steps.append((step, args, attrs))
        self._added(step, args, attrs)
        return ("step", len(self.steps) - 1)

    def add_record(self, record) -> tuple:
        """The register holding ``record``'s value (its pending inputs added first, once each,
        depth first; without recursion, so a chain of any length fits)."""
        memo = self._memo
        reg = memo.get(id(record))
        if reg is not None:
            return reg
        leaf, steps = self.leaf, self.steps
        frames = [[record, 0, None]]  # a record, how many of its inputs are in, their registers
        while frames:
            frame = frames[-1]
            rec, k, args = frame
            if args is None:
                if rec.origin is not None:
                    note_read(rec)
                if rec.value is not None:
                    memo[id(rec)] = leaf(rec.value)
                    frames.pop()
                    continue
                if rec.guards:
                    check_guards(rec)
                frame[2] = args = []
            inputs = rec.inputs
            count = len(inputs)
            while k < count:
                i = inputs[k]
                reg = leaf(i) if isinstance(i, _LEAVES) else memo.get(id(i))
                if reg is None:
                    break
                args.append(reg)
                k += 1
            if k < count:
                frame[1] = k
                frames.append([inputs[k], 0, None])
                continue
            args, attrs = tuple(args), tuple(rec.attrs)
            steps.append((rec.step, args, attrs))  # as ``step`` adds it
            self._added(rec.step, args, attrs)
            memo[id(rec)] = ("step", len(steps) - 1)
            frames.pop()
        return memo[id(record)]

    def evaluate(self, n: int, outputs, arrays, reduce=None):
        """Compute the registers ``outputs`` over the ``n`` elements into the flat arrays
        ``arrays``.  ``reduce``: (a register, the accumulator dtype) to sum that register too,
        block by block: returns the block sums, in block order (a 1-d array of that dtype).

        On the native backend the program runs compiled (``pygrad/fusion/lower.py``), unless
        a step cannot be lowered; otherwise, and on the pure backend, block by block from
        Python.  Both give the same numbers."""
        vm = _backend.fused_evaluator()
        if vm is not None:
            leaves = self.leaves + self.attr_arrays()
            lowered = self._lowered(vm, n, outputs, arrays, reduce, leaves)
            if lowered is not None:
                block = state.block
                partials = None
                if reduce is not None:
                    partials = np.empty(-(-n // block), reduce[1])
                lowered.run(leaves, arrays, n, block, partials)
                state.counters["compiled"] += 1
                return partials
            state.counters["fallbacks"] += 1
        regs = list(outputs) + ([reduce[0]] if reduce is not None else [])
        partials = []
        for start, stop, values in self.blocks(n, regs):
            for flat, value in zip(arrays, values):
                flat[start:stop] = value
            if reduce is not None:  # as NumPy sums a block: pairwise, in the accumulator dtype
                value = np.broadcast_to(values[-1], (stop - start,)).astype(reduce[1], copy=False)
                partials.append(np.add.reduce(value))
        return None if reduce is None else np.asarray(partials, reduce[1]).reshape(-1)

    def blocks(self, n: int, outputs):
        """Per block: ``(start, stop, values)``, ``values`` the block of each register of ``outputs``."""
        run = self._compile(outputs)
        block = state.block
        leaves = [a.reshape(-1) if _leaf_kind(a) == 1 else a for a in self.leaves]
        for start in range(0, n, block):
            stop = min(start + block, n)
            yield start, stop, run(leaves, start, stop)

    def _key(self, outputs):
        """What the evaluation of ``outputs`` depends on besides the leaves' values (None when
        an attribute is not hashable)."""
        try:
            key = (tuple(self._kinds), tuple(self._step_keys), tuple(outputs))
            hash(key)
        except TypeError:
            return None
        return key

    def _compile(self, outputs):
        """The program as one Python function of a block (no interpretation per block), reused
        for programs of the same shape (a training loop runs the same chains every step)."""
        key = self._key(outputs)
        if key is None:  # an attribute that is not hashable: compiled for this program only
            return self._source(outputs)
        run = _COMPILED.get(key)
        if run is None:
            if len(_COMPILED) > 512:
                _COMPILED.clear()
            run = _COMPILED[key] = self._source(outputs)
        return run

    def _lowered(self, vm, n, outputs, arrays, reduce, leaves):
        """The compiled plan of this program, lowered once per program shape and leaf dtypes
        (and per value of a 0-d leaf a step reads); None when it cannot be lowered.  ``leaves``:
        the leaves and ``attr_arrays()``, as the plan reads them."""
        if self._broadcasts:  # gathered per block: the Python evaluator's
            return None
        for a, kind in zip(leaves, self._kinds):  # whole arrays as the plan takes them
            if kind == 1 and (a.size != n or not a.flags.c_contiguous):
                return None
        for a in leaves[len(self.leaves):]:  # attributes of the chain's shape
            if a.size != n or not a.flags.c_contiguous:
                return None
        for a in arrays:
            if a.size != n or not a.flags.c_contiguous:
                return None
        key = self._key(outputs)
        if key is not None:
            key = (key, tuple(self._dtypes),
                   tuple(a.dtype for a in arrays), None if reduce is None else (reduce[0], np.dtype(reduce[1])))
            variants = _LOWERED.get(key)
            if variants is _CANNOT:
                return None
            for lowered in variants or ():
                if lowered.fits(self.leaves):
                    return lowered
        try:
            lowered = lower.lower(vm, self, outputs, [a.dtype for a in arrays], reduce)
        except lower.TraceError:
            if key is not None and not variants:
                _LOWERED[key] = _CANNOT
            return None
        if key is not None:
            if len(_LOWERED) > 512:
                _LOWERED.clear()
            _LOWERED.setdefault(key, []).append(lowered)
        return lowered

    def _source(self, outputs):
        env = {"_errstate": np.errstate}
        lines = ["def run(L, s, e):"]
        for i, a in enumerate(self.leaves):
            kind = _leaf_kind(a)
            lines.append(f"    l{i} = L[{i}][s:e]" if kind == 1 else f"    l{i} = L[{i}].block(s, e)" if kind == 2
                         else f"    l{i} = L[{i}]")
        shape = self.shape()
        for i, (step, args, attrs) in enumerate(self.steps):
            env[f"f{i}"] = step.bound()
            operands = [f"{'l' if kind == 'leaf' else 'v'}{j}" for kind, j in args]
            for k, value in enumerate(attrs):
                if _is_whole(value, shape):  # an attribute of the chain's shape (a condition, a mask)
                    env[f"a{i}_{k}"] = value.reshape(-1)
                    operands.append(f"a{i}_{k}[s:e]")
                    continue
                env[f"a{i}_{k}"] = value
                operands.append(f"a{i}_{k}")
            call = f"v{i} = f{i}({', '.join(operands)})"
            lines += ["    with _errstate(all='ignore'):", "        " + call] if step.quiet else ["    " + call]
        names = [f"{'l' if kind == 'leaf' else 'v'}{j}" for kind, j in outputs]
        lines.append(f"    return ({''.join(n + ', ' for n in names)})")
        exec(compile("\n".join(lines), "<fused block>", "exec"), env)
        return env["run"]


_COMPILED: dict = {}  # program shape -> its block function (binding the active backend's kernels)
_LOWERED: dict = {}   # program shape and dtypes -> its compiled plans, or _CANNOT
_CANNOT = object()
# Program shape -> the step indices of the records its passes offered to store (``keep``) that
# were read after the pass: by a later pass (backward's, or a chain continuing from them) or as
# a tensor's values.
_READ: dict = {}

# The size from which elementwise ops fuse, per evaluator.  Measured (W3 forward + backward,
# float32, 1 thread, medians): the compiled evaluator costs about 0.1 ms more per pass than
# eager kernels and wins from about 5e5 elements (1e6: 4x); the Python evaluator, once the
# arrays no longer fit the 32 MiB L3 cache (1e6: 0.9x, 1e7: 1.27x).
MIN_NUMEL = {"compiled": 1 << 19, "python": 1 << 21}


def _switched() -> None:
    _COMPILED.clear()
    _LOWERED.clear()
    _READ.clear()
    if not state.min_numel_chosen:
        state.min_numel = MIN_NUMEL["compiled" if _backend.fused_evaluator() else "python"]


_switched()
_backend.on_switch.append(_switched)


def _is_whole(value, shape) -> bool:
    return type(value) is np.ndarray and value.ndim > 0 and value.shape == shape


def check_guards(record) -> None:
    for version, value in record.guards:
        if version.value != value:
            raise RuntimeError(
                "an input of a pending fused elementwise computation was modified in place before the "
                "result was computed (its storage was written without pygrad seeing it first); "
                "turn fusion off (pygrad.fusion.set_enabled(False) or PYGRAD_FUSION=0) for this program")


def run(records, reduce: str | None = None, out_dtype=None, keep=()):
    """Compute ``records`` in one pass: store each one's array in ``record.value`` and return
    None, or with ``reduce`` ("sum"/"mean", one record) return the reduction's 0-d array.
    ``keep``: more records whose values the same pass stores (expensive intermediates that
    backward or a reader will want: cheaper to write once than to compute again)."""
    prog = Program()
    regs = [prog.add_record(r) for r in records]
    keep = _worth_storing(prog, keep)
    kept = [prog.add_record(r) for r in keep]
    shape, dtype = records[0].shape, records[0].dtype
    n = math.prod(shape)
    stored = list(keep) if reduce is not None else list(records) + list(keep)
    outs = [_backend.kernels._empty_buffer(shape, dtype) for _ in stored]
    flats = [o.reshape(-1) for o in outs]
    if reduce is not None:
        result = np.dtype(dtype if out_dtype is None else out_dtype)
        acc = result if (reduce == "sum" or result == np.float64) else np.dtype(np.float64)
        partials = prog.evaluate(n, kept, flats, reduce=(regs[0], acc))
    else:
        prog.evaluate(n, regs + kept, flats)
    for r, o in zip(stored, outs):
        r.computed(o)
    if reduce is None:
        for r in records:
            r.usage.escaped = True
        state.counters["evaluated"] += 1
        return None
    vm = _backend.fused_evaluator()
    total = np.add.reduce(partials, dtype=acc) if vm is None else vm.add_reduce(partials)
    if reduce == "mean":
        total = total / max(n, 1)
    state.counters["reduced"] += 1
    return np.asarray(total, result)


def _worth_storing(prog, candidates) -> list:
    """Of ``candidates`` (records ``prog`` computes), those worth storing: all of them the first
    time a program of this shape runs, then those that were read after an earlier pass of that
    shape (a training loop runs the same chains every step: a result no one reads, such as an
    intermediate of a loss function that is dropped when the function returns, is not written
    every step; one left pending and read is computed again once, then stored)."""
    if not candidates:
        return candidates
    key = prog._key(())
    if key is None:
        return candidates
    read = _READ.get(key)
    first = read is None
    if first:
        if len(_READ) > 512:
            _READ.clear()
        read = _READ[key] = set()
    out = []
    for r in candidates:
        index = prog._memo[id(r)][1]
        r.origin = (read, index)
        if first or index in read:
            out.append(r)
    return out


def note_read(record) -> None:
    """``record``'s value is asked for after the pass that offered to store it."""
    origin = record.origin
    if origin is not None:
        origin[0].add(origin[1])
        record.origin = None


def expensive(record, stored=()) -> bool:
    """Whether computing ``record`` again costs more than storing it: some step of what is left
    to compute, from what is computed or ``stored`` (ids of records a pass stores), is not plain
    arithmetic."""
    stack, seen = [record], set()
    while stack:
        r = stack.pop()
        if isinstance(r, _LEAVES) or r.value is not None:
            continue
        key = id(r)
        if key in seen or (r is not record and key in stored):
            continue
        seen.add(key)
        if not r.step.cheap(r.attrs):
            return True
        stack += r.inputs
    return False


def reachable(roots) -> set:
    """ids of the records not yet computed that ``roots`` depend on (``roots`` included)."""
    stack, seen = list(roots), set()
    while stack:
        r = stack.pop()
        if isinstance(r, _LEAVES) or r.value is not None:
            continue
        key = id(r)
        if key not in seen:
            seen.add(key)
            stack += r.inputs
    return seen
