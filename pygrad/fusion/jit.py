"""Runs of a lowered plan's arithmetic compiled to one C loop each, where a C compiler runs.

The compiled evaluator (``pygrad/_native/fused.pyx``) runs every instruction as NumPy's inner
loop over a sub-block: each loads its operands from, and stores its result to, the first-level
cache, about 0.1 ns per element per instruction, whatever the arithmetic.  Here a run of
consecutive instructions whose C is exactly NumPy's loop (``+ - * /``, negation, reciprocal,
square, ``sqrt``, ``abs``, comparisons, selects, casts and copies between bool, float32 and
float64) becomes one loop written in C: its intermediate values stay in registers and only what
later instructions read is stored.  Transcendental functions stay NumPy's (or vector math's)
loops between the runs.

The loops are IEEE arithmetic compiled without contraction (no fused multiply-add) or
reassociation, so they give NumPy's numbers bit for bit; each compiled plan is also run beside
the plan it replaces on probe values (random, special, both signs of zero, infinities, NaN) and
kept only if every output bit agrees.  NaN's sign and payload are the exception, as they are
between NumPy's own loops: of two NaN operands the hardware keeps the first one's, and a
compiler may swap the operands of ``+`` and ``*`` (NumPy's vector loops and their scalar tails
differ in the same way).

When.  A plan is compiled once it has run ``HOT`` times (a training loop runs the same chains
every step; a program run once is never compiled), by a background thread, so no pass waits for
the compiler; the plan is swapped in when ready (``wait()`` waits for pending ones).  Kernels are
kept on disk under a hash of their source, the compiler, its flags and the CPU
(``PYGRAD_CACHE_DIR``, else ``$XDG_CACHE_HOME/pygrad``, else ``~/.cache/pygrad``), so another
process of the same program loads them without compiling.  No compiler, or one that fails: the
plans stay as they are.  ``PYGRAD_FUSION_JIT=0`` or ``pygrad.fusion.set_jit(False)`` turns it
off.

Floating-point errors.  A compiled run reports whether it raised any error NumPy would warn of,
not which instruction did; when it does, the pass is run again by the instruction-per-loop plan
(the same numbers into the same arrays), whose reports name the ufunc, as eager evaluation does.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import queue
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
from pathlib import Path

import numpy as np

from ._state import state

HOT = 2  # runs of a plan before it is compiled

_C_TYPE = {1: "unsigned char", 4: "float", 8: "double"}  # by item size: the registers hold ?, f, d
_BINARY = {np.add: "+", np.subtract: "-", np.multiply: "*", np.true_divide: "/"}
_COMPARE = {np.greater: ">", np.greater_equal: ">=", np.less: "<", np.less_equal: "<=",
            np.equal: "==", np.not_equal: "!="}
_LOGICAL = {np.logical_and: "&&", np.logical_or: "||"}
_UNIT = {"f": "1.0f", "d": "1.0"}
_MAX_OPERANDS = 16  # the evaluator's limit of operands per instruction

_UNIFORM_KINDS = ("uniform", "const", "pre")  # one value: stride 0


def _expression(ufunc, chars, args) -> str | None:
    """The C of ``ufunc`` on operands ``args`` (C expressions) of type signature ``chars``, when
    it is exactly NumPy's loop; else None."""
    t = chars[-1]
    if len(chars) == 3 and chars[0] == chars[1]:
        a, b = args
        if ufunc in _BINARY and chars in ("fff", "ddd"):
            return f"({a} {_BINARY[ufunc]} {b})"
        if ufunc in _COMPARE and chars in ("ff?", "dd?"):
            return f"(unsigned char)({a} {_COMPARE[ufunc]} {b})"
        if ufunc in _COMPARE and chars == "???":  # as NumPy: any nonzero byte is True
            return f"(unsigned char)(({a} != 0) {_COMPARE[ufunc]} ({b} != 0))"
        if ufunc in _LOGICAL and chars == "???":
            return f"(unsigned char)({a} {_LOGICAL[ufunc]} {b})"
    if len(chars) == 2 and chars[0] == t:
        (a,) = args
        if t in "fd":
            if ufunc is np.negative:
                return f"(-{a})"
            if ufunc is np.positive:
                return a
            if ufunc is np.square:
                return f"({a} * {a})"
            if ufunc is np.reciprocal:
                return f"({_UNIT[t]} / {a})"
            if ufunc is np.sqrt:
                return f"sqrt{'f' if t == 'f' else ''}({a})"
            if ufunc is np.absolute:
                return f"fabs{'f' if t == 'f' else ''}({a})"
        elif ufunc is np.logical_not:
            return f"(unsigned char)!{a}"
    return None


def _instruction_c(kind, payload, ops, locs, value) -> str | None:
    """The C of one instruction (``value(loc)``: the C expression of a location's value), or
    None when it has none here."""
    if kind == "ufunc":
        ufunc = payload[0]
        chars = "".join(_char(locs[op][2]) for op in ops)
        return _expression(ufunc, chars, [value(op) for op in ops[:-1]])
    if kind == "where":  # branchless, so both values are computed (as np.where has them) and it vectorizes
        cond, a, b = (value(op) for op in ops[:3])
        return f"pygrad_select{locs[ops[-1]][2]}({cond}, {a}, {b})"
    if kind == "cast":
        src, dst = (np.dtype(d).char for d in payload)
        x = value(ops[0])
        if src == "?":
            return f"({x} ? {_UNIT[dst]} : 0)"
        if dst == "?":
            return f"(unsigned char)({x} != 0)"
        return f"(({_C_TYPE[np.dtype(dst).itemsize]}){x})"
    if kind == "copy":
        return value(ops[0])
    return None


def _neutral(ins) -> bool:
    """Whether an instruction joins a run whatever its errors: selects, copies, casts and
    comparisons report none (NumPy compares NaN quietly; C's ``>`` may raise "invalid", which
    the run then does not report)."""
    kind, payload = ins[0], ins[1]
    return kind != "ufunc" or payload[0] in _COMPARE or payload[0] in _LOGICAL or payload[0] is np.logical_not


def _char(itemsize: int) -> str:
    return {1: "?", 4: "f", 8: "d"}[itemsize]


def groups(locs, instrs, red_loc, nslots):
    """Split a plan's body into runs to compile: ``(new instructions, new locations, nslots,
    sources)``, the runs replaced by placeholder instructions ``("group", k, ops, watched)``
    whose C function is ``sources[k]``; None when no run of two or more instructions compiles."""
    locs = list(locs)
    readers = {}  # location -> index of the last instruction reading it
    for j, (_, _, ops, _) in enumerate(instrs):
        for op in ops[:-1]:
            readers[op] = j
    runs, current, watched = [], [], None
    for j, ins in enumerate(instrs):
        if _instruction_c(*ins[:3], locs, lambda op: "x") is None:
            if len(current) > 1:
                runs.append(current)
            current, watched = [], None
            continue
        # A run is of watched steps or of quiet ones (those that silence their floating-point
        # errors), never both: a quiet step that raises (sqrt of a negative) would otherwise
        # send every pass of the run back to the uncompiled plan to find who raised.
        kind = None if _neutral(ins) else bool(ins[3])
        if kind is not None and watched is not None and kind != watched:
            if len(current) > 1:
                runs.append(current)
            current, watched = [], None
        current.append(j)
        watched = kind if kind is not None else watched
    if len(current) > 1:
        runs.append(current)
    if not runs:
        return None
    out, sources, done = [], [], 0
    for run in runs:
        for piece in _pieces(run, instrs, locs, readers, red_loc):
            out.extend(instrs[done:piece[0]])
            ins_locs, out_locs = _piece(piece, instrs, locs, readers, red_loc)
            nslots = _unalias(ins_locs, out_locs, locs, nslots)
            sources.append(_function(len(sources), ins_locs, out_locs, [instrs[j] for j in piece], locs))
            watched = any(instrs[j][3] and not _neutral(instrs[j]) for j in piece)
            out.append(("group", len(sources) - 1, ins_locs + out_locs, watched))
            done = piece[-1] + 1
    out.extend(instrs[done:])
    return out, locs, nslots, sources


def _pieces(run, instrs, locs, readers, red_loc):
    """``run`` cut where a piece would take more operands than an instruction has."""
    piece = []
    for j in run:
        trial = piece + [j]
        ins_locs, out_locs = _piece(trial, instrs, locs, readers, red_loc)
        if len(ins_locs) + len(out_locs) > _MAX_OPERANDS and piece:
            yield piece
            piece = [j]
        else:
            piece = trial
    if piece:
        yield piece


def _piece(piece, instrs, locs, readers, red_loc):
    """The locations a piece reads from outside, and those it writes for later."""
    produced, ins_locs, out_locs = set(), [], []
    for j in piece:
        ops = instrs[j][2]
        for op in ops[:-1]:
            if op not in produced and op not in ins_locs:
                ins_locs.append(op)
        produced.add(ops[-1])
    last = piece[-1]
    for j in piece:
        op = instrs[j][2][-1]
        if locs[op][0] == "output" or op == red_loc or readers.get(op, -1) > last:
            out_locs.append(op)
    return ins_locs, out_locs


def _unalias(ins_locs, out_locs, locs, nslots) -> int:
    """A written scratch slot that a read one shares (reused after its last reading) moves to a
    slot of its own: the loop's input and output pointers then never meet, so it vectorizes."""
    read = {locs[op][1] for op in ins_locs if locs[op][0] == "scratch"}
    for op in out_locs:
        kind, slot, size = locs[op]
        if kind == "scratch" and slot in read:
            locs[op] = (kind, nslots, size)
            nslots += 1
    return nslots


def _function(k, ins_locs, out_locs, body, locs) -> tuple:
    """``(name, lines of C)``: the piece as a loop with NumPy's inner-loop signature."""
    name = f"pygrad_group_{k}"
    lines = [f"void {name}(char **args, const intptr_t *dims, const intptr_t *steps, void *data) {{",
             "    const intptr_t n = dims[0];"]
    names, reads = {}, []  # the C name of each value; the loads of element i, first in the loop
    for a, op in enumerate(ins_locs):
        ctype = _C_TYPE[locs[op][2]]
        if locs[op][0] in _UNIFORM_KINDS:
            lines.append(f"    const {ctype} u{a} = *(const {ctype} *)args[{a}];")
            names[op] = f"u{a}"
        else:
            lines.append(f"    const {ctype} *restrict in{a} = (const {ctype} *)args[{a}];")
            reads.append(f"        const {ctype} r{op} = in{a}[i];")
            names[op] = f"r{op}"
    for b, op in enumerate(out_locs):
        ctype = _C_TYPE[locs[op][2]]
        lines.append(f"    {ctype} *restrict out{b} = ({ctype} *)args[{len(ins_locs) + b}];")
    # No output meets an input (``_unalias``): the loop vectorizes without overlap checks,
    # which GCC otherwise gives up on for loops of many pointers, despite ``restrict``.
    lines += ["#if defined(__clang__)", "#pragma clang loop vectorize(assume_safety)", "#elif defined(__GNUC__)",
              "#pragma GCC ivdep", "#endif", "    for (intptr_t i = 0; i < n; i++) {"]
    lines += reads  # every input of element i is read before any output of it is written
    for instr in body:
        kind, payload, ops, _ = instr
        expr = _instruction_c(kind, payload, ops, locs, lambda op: names[op])
        lines.append(f"        const {_C_TYPE[locs[ops[-1]][2]]} v{ops[-1]} = {expr};")
        names[ops[-1]] = f"v{ops[-1]}"
    for b, op in enumerate(out_locs):
        lines.append(f"        out{b}[i] = {names[op]};")
    lines += ["    }", "}"]
    return name, lines


# -- compiling -----------------------------------------------------------------------------

# IEEE arithmetic, as setup.py compiles the kernels: no contraction into fused multiply-adds.
_FLAGS = ["-O3", "-ffp-contract=off", "-fno-fast-math", "-fno-math-errno", "-fPIC", "-shared"]
_HEADER = """\
#include <stdint.h>
#include <string.h>
#include <math.h>
#define PYGRAD_SELECT(NAME, T, BITS) \\
    static inline __attribute__((always_inline)) T NAME(unsigned char c, T a, T b) { \\
        BITS x, y, m = (BITS)0 - (BITS)(c != 0); \\
        memcpy(&x, &a, sizeof x); memcpy(&y, &b, sizeof y); \\
        x = (x & m) | (y & ~m); \\
        memcpy(&a, &x, sizeof x); return a; \\
    }
PYGRAD_SELECT(pygrad_select1, unsigned char, uint8_t)
PYGRAD_SELECT(pygrad_select4, float, uint32_t)
PYGRAD_SELECT(pygrad_select8, double, uint64_t)
""".splitlines()


def _compiler() -> list[str] | None:
    """The C compiler command: ``$CC``, else the one Python was built with, else ``cc``."""
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    argv = shlex.split(cc)
    if not argv or shutil.which(argv[0]) is None:
        return None
    return argv


def compiler_name() -> str:
    cc = _compiler()
    return os.path.basename(cc[0]) if cc else "none"


def _cpu() -> str:
    """What the kernels depend on besides their source: the processor's features."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = [line for line in f if line.startswith(("flags", "model name", "Features"))]
        return "".join(sorted(set(lines)))
    except OSError:
        import platform
        return platform.machine() + platform.processor()


def cache_dir() -> Path:
    root = os.environ.get("PYGRAD_CACHE_DIR")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = os.path.join(xdg, "pygrad") if xdg else os.path.join(os.path.expanduser("~"), ".cache", "pygrad")
    return Path(root) / "kernels"


_broken = False  # no compiler, or it failed again and again: stop trying in this process
_failures = []    # the compiler's messages of the sources it refused


def _failed(message: str) -> None:
    global _broken
    _failures.append(message)
    if len(_failures) >= 3:
        _broken = True
_libraries = []  # loaded kernels stay loaded


def build(sources) -> list | None:
    """Compile ``sources`` ((name, lines) per function) into one library (or load it from the
    cache): the C function pointer of each, in order; None when it cannot be compiled."""
    if _broken:
        return None
    cc = _compiler()
    if cc is None:
        return None
    flags = _FLAGS + (["-march=native"] if _native_ok(cc) else [])
    text = "\n".join(_HEADER + [line for _, lines in sources for line in lines]) + "\n"
    key = hashlib.sha256("\0".join([text, " ".join(cc + flags), _cpu()]).encode()).hexdigest()[:24]
    name = key + (sysconfig.get_config_var("SHLIB_SUFFIX") or ".so")
    cache = _private(cache_dir())
    lib = None
    if cache is not None and (cache / name).exists():
        lib = _load(cache / name)
        if lib is None:  # damaged, or from another system: built again below
            (cache / name).unlink(missing_ok=True)
    if lib is None:
        lib = _compile(cc + flags, text, name, cache)
    if lib is None:
        return None
    _libraries.append(lib)
    return [ctypes.cast(getattr(lib, fn), ctypes.c_void_p).value for fn, _ in sources]


def _private(directory: Path) -> Path | None:
    """``directory``, created if need be, when only this user can write to it (a library
    loaded from it runs in this process); else None: kernels are then compiled afresh."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = directory.stat()
    except OSError:
        return None
    if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
        return None
    _sweep(directory)
    return directory


_swept = set()


def _sweep(directory: Path) -> None:
    """Remove the work directories of compiles that never finished (a process that exited
    meanwhile), once per process and directory."""
    if directory in _swept:
        return
    _swept.add(directory)
    import time
    for work in directory.glob("tmp*"):
        try:
            if work.is_dir() and time.time() - work.stat().st_mtime > 600:
                shutil.rmtree(work, ignore_errors=True)
        except OSError:
            pass


def _compile(command, text, name, cache):
    """Compile ``text`` in a work directory and load it; into ``cache`` (atomically) when given."""
    try:
        work = Path(tempfile.mkdtemp(dir=cache))
    except OSError:
        return None
    try:
        source, built = work / "kernels.c", work / name
        source.write_text(text)
        done = subprocess.run(command + [str(source), "-o", str(built), "-lm"],
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            _failed(done.stderr)
            return None
        if cache is not None:
            os.replace(built, cache / name)
            built = cache / name
        lib = _load(built)  # the library stays mapped once its file is gone
        if lib is None:
            _failed(f"could not load {built}")
        return lib
    except (OSError, subprocess.SubprocessError) as exc:
        _failed(str(exc))
        return None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _load(path: Path):
    try:
        return ctypes.CDLL(str(path))
    except OSError:
        return None


_native_flag = None


def _native_ok(cc) -> bool:
    """Whether the compiler takes ``-march=native`` (the kernels run where they are compiled)."""
    global _native_flag
    if _native_flag is None:
        try:
            probe = subprocess.run(cc + ["-march=native", "-x", "c", "-E", "-"], input="", capture_output=True,
                                   text=True, timeout=30)
            _native_flag = probe.returncode == 0
        except (OSError, subprocess.SubprocessError):
            _native_flag = False
    return _native_flag


_CAPSULE = b"pygrad.vecmath.loop"  # the name the evaluator takes a loop pointer under
_new_capsule = ctypes.pythonapi.PyCapsule_New
_new_capsule.restype = ctypes.py_object
_new_capsule.argtypes = (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p)


def capsule(address: int):
    return _new_capsule(address, _CAPSULE, None)


# -- the background compiler ---------------------------------------------------------------

_queue: queue.Queue = queue.Queue()
_worker = None
_worker_lock = threading.Lock()


def submit(job) -> None:
    """Compile ``job()`` on the background thread (started on first use)."""
    global _worker
    with _worker_lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_work, name="pygrad-fusion-jit", daemon=True)
            _worker.start()
    _queue.put(job)


def _work() -> None:
    while True:
        job = _queue.get()
        try:
            job()
        except Exception:  # a kernel that fails to build leaves its plan as it was
            state.counters["jit_failed"] += 1
        finally:
            _queue.task_done()


generation = 0  # a new one in a child of fork: plans queued in the parent are queued again


def _forked() -> None:
    """A child of ``fork`` has no worker, and owes no job of its parent's."""
    global _queue, _worker, _worker_lock, generation
    _queue, _worker, _worker_lock = queue.Queue(), None, threading.Lock()
    generation += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


def wait() -> None:
    """Wait until every plan submitted for compiling is compiled (or given up)."""
    if _worker is not None:
        _queue.join()


def available() -> bool:
    return not _broken and _compiler() is not None and sys.platform != "win32"
