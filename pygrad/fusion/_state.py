"""The switch and settings of fusion, and what is pending (read by the hooks in shared modules)."""
from __future__ import annotations

import os
import sys
import threading
import weakref


class _State:
    __slots__ = ("_on", "_min_numel", "min_numel_chosen", "block", "vector_math", "jit", "_local", "counters", "forwarded")

    def __init__(self):
        self._on = os.environ.get("PYGRAD_FUSION", "1").strip().lower() not in ("0", "off", "false", "no")
        # Below this many elements an elementwise op runs eagerly: the backend's default
        # (``program.MIN_NUMEL``), unless chosen by the environment or ``set_min_numel``.
        self.min_numel_chosen = "PYGRAD_FUSION_MIN_NUMEL" in os.environ
        self._min_numel = int(os.environ.get("PYGRAD_FUSION_MIN_NUMEL", 1 << 21))
        # Elements per block: every intermediate of a fused pass lives in a buffer this size.
        self.block = int(os.environ.get("PYGRAD_FUSION_BLOCK", 1 << 14))
        # Transcendental functions of compiled passes by glibc's vector math where it is built
        # (within a few ulp of NumPy's loops, several times faster); off: NumPy's loops, the
        # eager results bit for bit.
        self.vector_math = os.environ.get("PYGRAD_FUSION_VECTOR_MATH", "1").strip().lower() not in (
            "0", "off", "false", "no")
        # Runs of arithmetic of hot compiled passes compiled to C loops (``jit.py``), where a C
        # compiler runs: the same numbers.
        self.jit = os.environ.get("PYGRAD_FUSION_JIT", "1").strip().lower() not in ("0", "off", "false", "no")
        self._local = threading.local()
        self.counters = {"recorded": 0, "evaluated": 0, "reduced": 0, "backward_chains": 0, "backward_nodes": 0,
                         # gradients a backward pass added to another of the same tensor (not the engine)
                         "backward_sums": 0,
                         # passes run by the compiled evaluator, and those it left to Python
                         "compiled": 0, "fallbacks": 0,
                         # plans whose arithmetic runs compiled to C; compiled ones refused on probes
                         "jit_compiled": 0, "jit_rejected": 0, "jit_failed": 0}
        # The class of a gradient inside a fused backward chain (fusion/backward.py), which the
        # engine's ``add`` passes on as it is.
        self.forwarded = None

    # The generated op code asks the core's ``fusion_gate`` (one compiled size test), which
    # reads the limit these two set.
    @property
    def on(self) -> bool:
        return self._on

    @on.setter
    def on(self, flag) -> None:
        self._on = bool(flag)
        self.sync()

    @property
    def min_numel(self) -> int:
        return self._min_numel

    @min_numel.setter
    def min_numel(self, n) -> None:
        self._min_numel = int(n)
        self.sync()

    def sync(self) -> None:
        """Give the core's gate the smallest size that fuses (none while fusion is off)."""
        core = sys.modules.get("pygrad._backend")
        core = getattr(core, "core", None)
        if core is not None:
            core.set_fusion_limit(self._min_numel if self._on else sys.maxsize)

    @property
    def in_backward(self) -> list:
        """One entry per backward pass running in this thread (a hook may start another): True
        for a plain pass of the engine with no intermediate gradient asked for (it may fuse, and
        writes only .grad buffers)."""
        modes = getattr(self._local, "modes", None)
        if modes is None:
            modes = self._local.modes = []
        return modes

    @property
    def backward_roots(self) -> list:
        """The root edges of each backward pass running in this thread, as ``in_backward``."""
        roots = getattr(self._local, "roots", None)
        if roots is None:
            roots = self._local.roots = []
        return roots


state = _State()

class _Pending:
    """The lazy tensors not yet computed and the nodes that saved one, held weakly (by identity:
    tensors compare elementwise)."""

    __slots__ = ("_refs",)

    def __init__(self):
        self._refs = {}

    def add(self, tensor) -> None:
        key = id(tensor)
        self._refs[key] = weakref.ref(tensor, lambda _, key=key, refs=self._refs: refs.pop(key, None))

    def discard(self, tensor) -> None:
        self._refs.pop(id(tensor), None)

    def __bool__(self) -> bool:
        return bool(self._refs)

    def __iter__(self):
        return iter([t for t in (r() for r in list(self._refs.values())) if t is not None])


# Anything that may write storage computes these first.
pending = _Pending()
