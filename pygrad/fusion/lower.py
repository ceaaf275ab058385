"""Lowering a program to the compiled evaluator's instructions, by tracing its steps.

No formula is written here: each step's own callable (the table's kernel, which falls back to
its pure NumPy twin for operands that are not arrays, or the table's compiled expression) is
called on ``Symbol`` operands.  A symbol stands for a register of the block; the NumPy ufuncs
the callable applies to it (through ``__array_ufunc__``, operators included, with ndarray's
own choice of ufunc for ``**``) become instructions running that ufunc's inner loop for the
operand types, ``np.where`` a select, ``astype`` a cast.  Python and NumPy numbers become
constants of the type NumPy resolves for them.

A step that does anything else on a symbol (another NumPy function, reading its values,
reshaping it, an array of more than one element) cannot be traced: the program then runs on
the Python evaluator (``counters()["fallbacks"]``).  A 0-d leaf whose value a step reads (an
exponent tested for 0.5) is taken as that value: the lowered program is kept for it only.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from . import jit
from ._state import state

_TYPES = frozenset("?fd")  # bool, float32, float64: the types the evaluator's registers hold
_FPE = ((1, "divide"), (2, "over"), (4, "under"), (8, "invalid"))  # NumPy's NPY_FPE_* bits


class TraceError(Exception):
    """The step does something the compiled evaluator does not do."""


class Symbol(NDArrayOperatorsMixin):
    """One register of a traced block: its dtype, and the chain's shape (never its values)."""

    __slots__ = ("trace", "reg", "dtype")
    __array_priority__ = 1000

    def __init__(self, trace, reg, dtype):
        self.trace, self.reg, self.dtype = trace, reg, np.dtype(dtype)

    @property
    def shape(self):
        return self.trace.shape

    @property
    def ndim(self):
        return len(self.trace.shape)

    @property
    def size(self):
        return self.trace.size

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__":
            raise TraceError(f"{ufunc.__name__}.{method}")
        return self.trace.ufunc(ufunc, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return self.trace.function(func, args, kwargs)

    def __array__(self, *args, **kwargs):
        raise TraceError("the values of a traced register were asked for")

    def __pow__(self, other):
        return self.trace.power(self, other, reflected=False)

    def __rpow__(self, other):
        return self.trace.power(self, other, reflected=True)

    def astype(self, dtype, copy=True):
        return self.trace.cast(self, np.dtype(dtype))

    def copy(self):
        return self  # registers are never written in place

    def item(self):
        return self.trace.value(self)

    def __float__(self):
        return float(self.trace.value(self))

    def __bool__(self):
        return bool(self.trace.value(self))

    def __int__(self):
        raise TraceError("int() of a traced register")

    __index__ = __int__


class _Held:
    """What a forward over Tensors reads of a traced operand: its ``_data``."""

    __slots__ = ("_data",)

    def __init__(self, data):
        self._data = data


class _Spy(np.ndarray):
    """Which ufunc ndarray's ``**`` applies (it picks ``square``, ``sqrt``... for some
    exponents): records it instead of computing."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        self.calls.append((ufunc, method, inputs, kwargs))
        return np.zeros(1)


class Trace:
    """The instructions and registers recorded while tracing one program."""

    def __init__(self, shape, size):
        self.shape, self.size = shape, size
        self.regs = []      # ("leaf", i) | ("uniform", i) | ("const", array) | ("value", instr)
        self.dtypes = []
        self.instrs = []    # (kind, payload, input regs, output reg, errors reported, name)
        self.quiet = False
        self.uniform_values = {}  # register -> the 0-d leaf array (for ``value``)
        self.specialized = {}     # leaf index -> value read from it

    def new(self, where, dtype) -> Symbol:
        self.regs.append(where)
        self.dtypes.append(np.dtype(dtype))
        return Symbol(self, len(self.regs) - 1, dtype)

    def const(self, value, dtype) -> Symbol:
        return self.new(("const", np.asarray(value, dtype)), dtype)

    def _emit(self, kind, payload, inputs, dtype, name) -> Symbol:
        out = self.new(("value", len(self.instrs)), dtype)
        reported = 0
        if not self.quiet:  # the errors the step does not silence itself (NPY_FPE_* bits)
            modes = np.geterr()
            reported = sum(bit for bit, kind in _FPE if modes[kind] != "ignore")
        self.instrs.append((kind, payload, tuple(s.reg for s in inputs), out.reg, reported, name))
        return out

    # -- what a step may do with a symbol ---------------------------------------------------

    def ufunc(self, ufunc, inputs, kwargs):
        dtype = kwargs.pop("dtype", None)
        if kwargs.pop("out", None) is not None or kwargs or ufunc.nout != 1 or ufunc.nin > 3:
            raise TraceError(f"{ufunc.__name__} with {sorted(kwargs)}")
        given = []
        for x in inputs:
            if isinstance(x, Symbol):
                given.append(x.dtype)
            elif type(x) in (bool, int, float):
                given.append(type(x))  # a weak Python number, as NumPy resolves it
            elif isinstance(x, (np.generic, np.ndarray)) and np.ndim(x) == 0:
                given.append(np.asarray(x).dtype)
            else:
                raise TraceError(f"an operand of {ufunc.__name__} is {type(x).__name__}")
        try:
            if dtype is None:
                resolved = ufunc.resolve_dtypes(tuple(given) + (None,))
            else:
                resolved = ufunc.resolve_dtypes(tuple(given) + (None,), signature=(None,) * ufunc.nin + (np.dtype(dtype),))
        except (TypeError, ValueError, AttributeError) as exc:
            raise TraceError(str(exc)) from exc
        chars = "".join(d.char for d in resolved)
        if not set(chars) <= _TYPES:
            raise TraceError(f"{ufunc.__name__} on {chars}")
        if ufunc is np.power and chars in ("fff", "ddd") and isinstance(inputs[0], Symbol) \
                and not isinstance(inputs[1], Symbol):
            shortcut = self.power_by(inputs[0], float(inputs[1]), resolved[0])
            if shortcut is not None:
                return shortcut
        operands = []
        for x, want in zip(inputs, resolved):
            if isinstance(x, Symbol):
                operands.append(x if x.dtype == want else self.cast(x, want))
            else:
                operands.append(self.const(x, want))
        return self._emit("ufunc", (ufunc, chars), operands, resolved[-1], ufunc.__name__)

    def power(self, base: Symbol, other, reflected: bool):
        if reflected or isinstance(other, Symbol):
            return self.ufunc(np.power, (other, base) if reflected else (base, other), {})
        spy = np.zeros(3, base.dtype).view(_Spy)
        spy.calls = []
        spy ** other  # noqa: B018 - records the ufunc ndarray applies
        if len(spy.calls) != 1:
            raise TraceError("**")
        ufunc, method, inputs, kwargs = spy.calls[0]
        if method != "__call__":
            raise TraceError("**")
        return self.ufunc(ufunc, tuple(base if x is spy else x for x in inputs), dict(kwargs))

    def power_by(self, x: Symbol, exponent: float, dtype):
        """``x ** exponent`` without NumPy's pow() loop for the exponents where the compiled
        kernel (``_pow_by_uniform``) computes it so: the same numbers, many times faster."""
        x = self.cast(x, dtype)
        if exponent == 2:
            return self.ufunc(np.multiply, (x, x), {})
        if exponent == 0.5:
            return self.ufunc(np.sqrt, (x,), {})
        if exponent == 1:
            return x
        if exponent == -1:
            return self.ufunc(np.true_divide, (dtype.type(1), x), {})
        if exponent == 0:
            return self.const(1, dtype)
        return None

    def cast(self, x: Symbol, dtype) -> Symbol:
        dtype = np.dtype(dtype)
        if dtype == x.dtype:
            return x
        if dtype.char not in _TYPES:
            raise TraceError(f"cast to {dtype}")
        return self._emit("cast", (x.dtype, dtype), [x], dtype, "cast")

    def function(self, func, args, kwargs):
        if func is np.where and len(args) == 3 and not kwargs:
            return self.where(*args)
        if func is np.zeros_like and len(args) == 1 and set(kwargs) <= {"dtype"}:
            like = args[0]
            return self.const(0, kwargs.get("dtype") or like.dtype)
        raise TraceError(f"np.{getattr(func, '__name__', func)}")

    def where(self, cond, a, b):
        if not isinstance(cond, Symbol):  # a known condition picks a branch
            if np.ndim(cond) != 0:
                raise TraceError("where with an array condition")
            pick = a if bool(cond) else b
            dtype = np.result_type(a if not isinstance(a, Symbol) else a.dtype,
                                   b if not isinstance(b, Symbol) else b.dtype)
            return self.cast(pick, dtype) if isinstance(pick, Symbol) else self.const(pick, dtype)
        if cond.dtype != np.bool_:
            raise TraceError("where on a condition that is not bool")
        dtype = np.result_type(a if not isinstance(a, Symbol) else a.dtype,
                               b if not isinstance(b, Symbol) else b.dtype)
        if dtype.char not in _TYPES:
            raise TraceError(f"where of {dtype}")
        branches = [self.cast(x, dtype) if isinstance(x, Symbol) else self.const(x, dtype) for x in (a, b)]
        return self._emit("where", dtype.itemsize, [cond] + branches, dtype, "where")

    def value(self, x: Symbol):
        leaf = self.uniform_values.get(x.reg)
        if leaf is None:
            raise TraceError("the values of a traced register were read")
        index, array = leaf
        self.specialized[index] = array.item()
        return array.item()


def trace(program, outputs):
    """Trace ``program`` (a ``program.Program``): the Trace and the register of each output."""
    shape = None
    for a in program.leaves:
        if isinstance(a, np.ndarray) and a.ndim:
            shape = a.shape
            break
    tr = Trace(shape if shape is not None else (), 0)
    tr.size = int(np.prod(tr.shape, dtype=np.int64))
    leaves = []
    for i, a in enumerate(program.leaves):
        if a is None:
            leaves.append(None)
        elif not isinstance(a, np.ndarray) or a.dtype.char not in _TYPES:
            raise TraceError("a leaf that is not a bool/float32/float64 array")
        elif a.ndim:
            if a.shape != tr.shape or not a.flags.c_contiguous:
                raise TraceError("a leaf of another shape or layout")
            leaves.append(tr.new(("leaf", i), a.dtype))
        else:
            s = tr.new(("uniform", i), a.dtype)
            tr.uniform_values[s.reg] = (i, a)
            leaves.append(s)
    values = []
    extra = len(program.leaves)  # attributes of the chain's shape follow the leaves
    for step, args, attrs in program.steps:
        operands = [leaves[j] if kind == "leaf" else values[j] for kind, j in args]
        attrs = list(attrs)
        for k, a in enumerate(attrs):
            if isinstance(a, np.ndarray) and a.ndim:
                if a.shape != tr.shape or not a.flags.c_contiguous or a.dtype.char not in _TYPES:
                    raise TraceError("an attribute array of another shape, layout or dtype")
                attrs[k] = tr.new(("leaf", extra), a.dtype)
                extra += 1
        tr.quiet = step.quiet
        fn = step.bound()
        on_tensors = getattr(fn, "on_tensors", None)
        if on_tensors is not None:  # a forward over Tensors: it reads their ``_data``
            fn, k = on_tensors
            operands = [_Held(x) for x in operands[:k]] + operands[k:]
        with np.errstate(all="warn"):  # what the step silences itself shows as "ignore"
            out = fn(*operands, *attrs)
        if not isinstance(out, Symbol):
            if isinstance(out, (np.ndarray, np.generic)) and np.ndim(out) == 0 and out.dtype.char in _TYPES:
                out = tr.const(out, out.dtype)  # a step that gives a constant (zeros_like of a number)
            else:
                raise TraceError(f"{step.name} gave {type(out).__name__}")
        values.append(out)
    regs = []
    for kind, j in outputs:
        s = leaves[j] if kind == "leaf" else values[j]
        if s is None:
            raise TraceError("an output that is None")
        regs.append(s.reg)
    return tr, regs


def allocate(vm, tr: Trace, out_regs, out_dtypes, reduce_reg=None):
    """The plan's arguments: locations, instructions, constants, scratch slots.  Outputs are
    written by the instruction computing them (a copy when that value is a leaf, a constant or
    another output's); every other value gets a scratch slot, reused after its last reading."""
    needed = set(out_regs)
    if reduce_reg is not None:
        needed.add(reduce_reg)
    live = []
    for idx in range(len(tr.instrs) - 1, -1, -1):  # drop what no output needs
        kind, payload, ins, out, quiet, name = tr.instrs[idx]
        if out in needed:
            live.append(idx)
            needed.update(ins)
    live.reverse()
    for reg, want in zip(out_regs, out_dtypes):
        if tr.dtypes[reg] != np.dtype(want):
            raise TraceError("an output of another dtype than its array")

    locs, consts, loc_of = [], [], {}

    def location(kind, index, itemsize):
        locs.append((kind, index, itemsize))
        return len(locs) - 1

    for reg, where in enumerate(tr.regs):
        size = tr.dtypes[reg].itemsize
        if where[0] == "leaf":
            loc_of[reg] = location("whole", where[1], size)
        elif where[0] == "uniform":
            loc_of[reg] = location("uniform", where[1], size)
        elif where[0] == "const":
            consts.append(where[1])
            loc_of[reg] = location("const", len(consts) - 1, size)
    # A value computed from one-value operands only is one value: the prologue computes it once.
    uniform = {reg for reg, where in enumerate(tr.regs) if where[0] in ("uniform", "const")}
    for idx in live:
        kind, payload, ins, out, reported, name = tr.instrs[idx]
        if all(r in uniform for r in ins):
            uniform.add(out)
    written_by = {}  # instruction index -> output index it writes
    copies = []
    for j, reg in enumerate(out_regs):
        where = tr.regs[reg]
        if where[0] == "value" and where[1] not in written_by and reg != reduce_reg and reg not in uniform:
            written_by[where[1]] = j
            loc_of[reg] = location("output", j, tr.dtypes[reg].itemsize)
        else:
            copies.append((reg, j))
    last_use = {}
    for idx in live:
        for r in tr.instrs[idx][2]:
            last_use[r] = idx
    if reduce_reg is not None:
        last_use[reduce_reg] = len(tr.instrs)
    for reg, _ in copies:
        last_use[reg] = len(tr.instrs)
    free, nslots, npre, prologue, instrs = [], 0, 0, [], []
    watched = ([], [])  # (ufunc name, errors reported) of the prologue's, then the body's
    for idx in live:
        kind, payload, ins, out, reported, name = tr.instrs[idx]
        if out not in loc_of:
            if out in uniform:
                loc_of[out] = location("pre", npre, tr.dtypes[out].itemsize)
                npre += 1
            else:
                slot = free.pop() if free else nslots
                nslots = max(nslots, slot + 1)
                loc_of[out] = location("scratch", slot, tr.dtypes[out].itemsize)
        watch = kind == "ufunc" and reported != 0
        if kind == "ufunc":
            payload = (payload[0], _loop(vm, *payload), _vector_loop(*payload))
        if watch:
            watched[out not in uniform].append((name, reported))
        (prologue if out in uniform else instrs).append(
            (kind, payload, [loc_of[r] for r in ins] + [loc_of[out]], watch))
        for r in set(ins):  # slots whose value is read for the last time are free again
            if last_use.get(r) == idx and locs[loc_of[r]][0] == "scratch":
                free.append(locs[loc_of[r]][1])
    for reg, j in copies:
        size = tr.dtypes[reg].itemsize
        instrs.append(("copy", size, [loc_of[reg], location("output", j, size)], False))
    reduce = None if reduce_reg is None else loc_of[reduce_reg]
    return locs, prologue, instrs, consts, nslots, reduce, watched[0] + watched[1]


_LOOPS: dict = {}  # (ufunc, type signature) -> index of the inner loop NumPy runs for it, or -1


def _loop(vm, ufunc, chars) -> int:
    index = _LOOPS.get((ufunc, chars))
    if index is None:
        index = vm.loop_index(ufunc, chars)
        if index >= 0 and not all(vm.loop_matches(ufunc, index, p) for p in _probes(chars[:-1])):
            index = -1
        _LOOPS[(ufunc, chars)] = index
    if index < 0:
        raise TraceError(f"no loop {chars} of {ufunc.__name__} to call")
    return index


def _vector_loop(ufunc, chars):
    """The vector loop (``pygrad._native.vecmath``) to run instead of NumPy's for ``ufunc`` on
    operands all of one float type, when vector math is on; else None."""
    if not state.vector_math or len(set(chars)) != 1 or chars[0] not in "fd":
        return None
    try:
        from .._native import vecmath
    except ImportError:  # a build without it (pure, or older)
        return None
    return vecmath.vector_loop(ufunc, np.dtype(chars[0]))


def _probes(chars):
    """Operand sets that exercise a loop: random and special values, contiguous (an odd count,
    so the SIMD loops' tails run too), and with one operand 0-d."""
    rng = np.random.default_rng(15)
    arrays = []
    for c in chars:
        if c == "?":
            a = rng.random(1031) < 0.5
        else:
            a = (rng.standard_normal(1031) * np.exp(rng.uniform(-8, 8, 1031))).astype(c)
            a[:12] = [0, -0.0, 1, -1, 0.5, 2, np.inf, -np.inf, np.nan, 1e-30, 80, -90]
        arrays.append(a)
    sets = [arrays]
    if len(arrays) >= 2:  # a 0-d operand in either place (``x * 2``, ``1 / x``)
        sets.append([arrays[0], arrays[1][5:6].reshape(())] + arrays[2:])
        sets.append([arrays[0][5:6].reshape(()), arrays[1]] + arrays[2:])
    return sets


class Lowered:
    """A program lowered to a compiled ``Plan``, for the leaf values it was traced with.  Once
    it has run ``jit.HOT`` times, its arithmetic is compiled to C in the background
    (``pygrad/fusion/jit.py``) and ``plan`` becomes that plan; ``steps_plan`` stays the plan of
    one NumPy loop per instruction."""

    __slots__ = ("plan", "steps_plan", "watched", "specialized", "runs", "_parts", "_queued")

    def __init__(self, plan, watched, specialized, parts=None):
        self.plan = self.steps_plan = plan
        self.watched, self.specialized = watched, specialized
        self.runs = 0
        self._queued = None  # the compiler generation it was queued in (jit.generation)
        self._parts = parts  # what the plan was made of: (vm, locs, prologue, instrs, consts, nslots, reduce)

    def fits(self, leaves) -> bool:
        """Whether the 0-d leaves a step read have the values traced."""
        return not self.specialized or all(leaves[i].item() == v for i, v in self.specialized.items())

    def run(self, leaves, arrays, n: int, block: int, partials=None) -> None:
        plan = self.plan
        raised = plan.run(leaves, arrays, n, block, partials)
        if raised and plan is not self.steps_plan:  # the same numbers again, saying which step raised
            raised = self.steps_plan.run(leaves, arrays, n, block, partials)
        for k, bits in raised:
            name, reported = self.watched[k]
            _report(name, bits & reported)
        self.runs += 1
        if (self.runs >= jit.HOT and self._parts is not None and self._queued != jit.generation
                and state.jit and jit.available()):
            self._queued = jit.generation
            probes = _probe_leaves(leaves, [a.dtype for a in arrays])
            jit.submit(lambda: self._compile(*probes))

    def _compile(self, leaves, outputs, n, block) -> None:
        """Swap in the plan whose arithmetic runs compiled, if it gives this plan's bits on probes."""
        parts, self._parts = self._parts, None
        if parts is None:  # queued twice (two threads ran the plan): compiled once
            return
        vm, locs, prologue, instrs, consts, nslots, reduce = parts
        split = jit.groups(locs, instrs, None if reduce is None else reduce[0], nslots)
        if split is None:
            return
        instrs, locs, nslots, sources = split
        pointers = jit.build(sources)
        if pointers is None:
            return
        code = [("ufunc", (None, None, jit.capsule(pointers[payload])), ops, watched) if kind == "group"
                else (kind, payload, ops, watched) for kind, payload, ops, watched in instrs]
        plan = vm.Plan(locs, prologue, code, consts, nslots, reduce)
        if not _same_results(self.steps_plan, plan, leaves, outputs, n, block, reduce):
            state.counters["jit_rejected"] += 1
            return
        self.plan = plan
        state.counters["jit_compiled"] += 1


_PROBE_N = 2053  # odd, so vector loops' tails run; several blocks of the probe block size
_PROBE_BLOCK = 512


def _probe_leaves(leaves, out_dtypes):
    """Operands to compare two plans on: the 0-d leaves as they are (a step may have read
    them), random and special values of each whole leaf's dtype; and the output arrays."""
    rng = np.random.default_rng(15)
    probed = []
    for a in leaves:
        if a is None or a.ndim == 0:
            probed.append(None if a is None else np.array(a))
        elif a.dtype == np.bool_:
            probed.append(rng.random(_PROBE_N) < 0.5)
        else:
            x = (rng.standard_normal(_PROBE_N) * np.exp(rng.uniform(-8, 8, _PROBE_N))).astype(a.dtype)
            x[rng.permutation(_PROBE_N)[:24]] = [0, -0.0, 1, -1, 0.5, 2, np.inf, -np.inf, np.nan, 1e-30, 80, -90] * 2
            probed.append(x)
    outputs = [np.empty(_PROBE_N, d) for d in out_dtypes]
    return probed, outputs, _PROBE_N, _PROBE_BLOCK


def _same_results(plan, other, leaves, outputs, n, block, reduce) -> bool:
    """Whether the plans give the same bits, NaN's sign and payload aside (see jit.py)."""
    results = []
    for p in (plan, other):
        arrays = [np.empty_like(o) for o in outputs]
        partials = None if reduce is None else np.empty(-(-n // block), reduce[1])
        p.run(leaves, arrays, n, block, partials)
        results.append([_bits(a) for a in arrays + ([] if partials is None else [partials])])
    return results[0] == results[1]


def _bits(a: np.ndarray) -> bytes:
    if a.dtype.kind == "f":
        a = np.where(np.isnan(a), a.dtype.type(np.nan), a)
    return a.tobytes()


def lower(vm, program, outputs, out_dtypes, reduce=None) -> Lowered:
    """``program`` (with registers ``outputs`` written to arrays of ``out_dtypes``, and
    ``reduce``: (register, accumulator dtype) or None) as a compiled plan of ``vm``."""
    try:
        tr, regs = trace(program, list(outputs) + ([reduce[0]] if reduce else []))
    except TraceError:
        raise
    except Exception as exc:  # a step that does what a symbol cannot stand for
        raise TraceError(f"{type(exc).__name__}: {exc}") from exc
    red_reg, acc = None, None
    if reduce is not None:
        red_reg, acc = regs.pop(), np.dtype(reduce[1])
        value = tr.dtypes[red_reg]
        if value != acc and not (value == np.float32 and acc == np.float64):
            raise TraceError(f"a sum of {value} in {acc}")
    locs, prologue, instrs, consts, nslots, red_loc, watched = allocate(vm, tr, regs, out_dtypes, red_reg)
    reduce = None if reduce is None else (red_loc, acc)
    plan = vm.Plan(locs, prologue, instrs, consts, nslots, reduce)
    return Lowered(plan, watched, dict(tr.specialized), (vm, locs, prologue, instrs, consts, nslots, reduce))


_TEXT = {1: "divide by zero", 2: "overflow", 4: "underflow", 8: "invalid value"}


def _report(name: str, bits: int) -> None:
    """What NumPy does after a ufunc that raised the floating-point errors ``bits``, under the
    error handling in force (``np.errstate``)."""
    import warnings
    modes = np.geterr()
    for bit, kind in _FPE:
        if not bits & bit or modes[kind] == "ignore":
            continue
        text = f"{_TEXT[bit]} encountered in {name}"
        mode = modes[kind]
        if mode == "raise":
            raise FloatingPointError(text)
        if mode == "call":
            np.geterrcall()(text, bit)
        else:
            warnings.warn(text, RuntimeWarning, stacklevel=2)
