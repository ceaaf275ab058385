"""``torch.autograd.profiler``: wall-clock timings of every op, with PyTorch's report tables.

While a ``profile`` is active, every op call (``Function.apply``, through
``autograd/op_observers.py``) and every backward node run is timed as an event named as
PyTorch names it (``aten::mm``, ``MmBackward0``, ``autograd::engine::evaluate_function:
MmBackward0``); ``record_function`` adds named ranges.  Nested events give each event its
self time.  Nothing is hooked when no profiler is active.
"""
from __future__ import annotations

import functools
import json
import re
import time
from typing import Any

from . import op_observers

__all__ = ["profile", "record_function", "EventList", "FunctionEvent", "FunctionEventAvg"]


class _EventFields:
    """The fields PyTorch's events have that pygrad's CPU-only events leave at their defaults."""

    cpu_parent = None
    stack = ()
    node_id = -1
    overload_name = ""
    is_async = False
    is_legacy = False
    device_type = "CPU"
    use_device = None
    self_device_time_total = device_time_total = device_time = 0.0
    self_device_memory_usage = cpu_memory_usage = self_cpu_memory_usage = device_memory_usage = 0
    flops = 0


class FunctionEvent(_EventFields):
    """One timed range: ``cpu_time_total`` and ``self_cpu_time_total`` in microseconds."""

    count = 1

    def __init__(self, id: int, name: str, start_ns: int, input_shapes=None, parent=None):  # noqa: A002
        self.id, self.name, self.key = id, name, name
        self.start_ns, self.end_ns = start_ns, start_ns
        self.input_shapes = input_shapes
        self.cpu_parent = parent
        self.cpu_children: list = []

    @property
    def cpu_time_total(self) -> float:
        return (self.end_ns - self.start_ns) / 1000.0

    @property
    def self_cpu_time_total(self) -> float:
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total

    def __repr__(self) -> str:
        return (f"<FunctionEvent id={self.id} name={self.name} cpu_time={_format_time(self.cpu_time_total)} "
                f"input_shapes={self.input_shapes}>")


class FunctionEventAvg(_EventFields):
    """The events of one name (and input shapes, when grouped by them), summed."""

    def __init__(self, key: str, input_shapes=None):
        self.key = key
        self.input_shapes = input_shapes
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0

    def add(self, event) -> "FunctionEventAvg":
        self.count += event.count
        self.cpu_time_total += event.cpu_time_total
        self.self_cpu_time_total += event.self_cpu_time_total
        return self

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / max(self.count, 1)

    def __repr__(self) -> str:
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={_format_time(self.self_cpu_time_total)} "
                f"cpu_time={_format_time(self.cpu_time)} input_shapes={self.input_shapes}>")


class EventList(list):
    """A list of events with PyTorch's summaries."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args)

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> "EventList":
        groups: dict = {}
        for e in self:
            shapes = str(e.input_shapes) if group_by_input_shape else None
            key = (e.key, shapes)
            if key not in groups:
                groups[key] = FunctionEventAvg(e.key, e.input_shapes if group_by_input_shape else None)
            groups[key].add(e)
        return EventList(groups.values())

    def total_average(self) -> FunctionEventAvg:
        total = FunctionEventAvg("Total")
        for e in self:
            total.add(e)
        return total

    @property
    def self_cpu_time_total(self) -> float:
        return sum(e.self_cpu_time_total for e in self)

    def table(self, sort_by: str | None = None, row_limit: int = 100, max_src_column_width: int = 75,
              max_name_column_width: int = 55, max_shapes_column_width: int = 80, header: str | None = None,
              top_level_events_only: bool = False, time_unit: str | None = None) -> str:
        return _build_table(self, sort_by, header, row_limit, max_name_column_width, max_shapes_column_width,
                            top_level_events_only, time_unit)

    def export_chrome_trace(self, path: str) -> None:
        events = [{"name": e.name, "ph": "X", "ts": e.start_ns / 1000.0, "dur": e.cpu_time_total, "pid": 0, "tid": 0,
                   "cat": "cpu_op", "args": {"Input Dims": e.input_shapes} if e.input_shapes else {}}
                  for e in self if isinstance(e, FunctionEvent)]
        with open(path, "w") as f:
            json.dump({"traceEvents": events}, f)


def _format_time(time_us: float) -> str:
    if time_us >= 1e6:
        return f"{time_us / 1e6:.3f}s"
    if time_us >= 1e3:
        return f"{time_us / 1e3:.3f}ms"
    return f"{time_us:.3f}us"


def _format_time_share(time_us: float, total_time_us: float) -> str:
    if total_time_us == 0:
        return "NaN"
    return f"{time_us * 100.0 / total_time_us:.2f}%"


def _unit(time_us: float, unit: str | None) -> str:
    if unit == "s":
        return f"{time_us / 1e6:.3f}s"
    if unit == "ms":
        return f"{time_us / 1e3:.3f}ms"
    if unit == "us":
        return f"{time_us:.3f}us"
    return _format_time(time_us)


def _build_table(events, sort_by, header, row_limit, max_name_column_width, max_shapes_column_width,
                 top_level_events_only, time_unit) -> str:
    """PyTorch's ``_build_table`` for CPU events: the same columns, widths and number formats."""
    if len(events) == 0:
        return ""
    has_input_shapes = any(e.input_shapes is not None and len(e.input_shapes) > 0 for e in events)
    if sort_by is not None:
        events = EventList(sorted(events, key=lambda e: getattr(e, sort_by), reverse=True))
    name_width = max(len(e.key) for e in events) + 4
    if max_name_column_width is not None:
        name_width = min(name_width, max_name_column_width)
    shapes_width = max(len(str(e.input_shapes)) for e in events) + 4
    if max_shapes_column_width is not None:
        shapes_width = min(shapes_width, max_shapes_column_width)
    headers = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "# of Calls"]
    widths = [name_width] + [12] * 6
    if has_input_shapes:
        headers.append("Input Shapes")
        widths.append(shapes_width)
    row_format = "".join("{: >" + str(w) + "}  " for w in widths)
    header_sep = "".join("-" * w + "  " for w in widths)
    line_length = sum(w + 2 for w in widths) - 2
    total = sum(e.self_cpu_time_total for e in events)
    lines = []
    if header is not None:
        lines += ["=" * line_length, header]
    if top_level_events_only:
        lines += ["=" * line_length, "This report only display top-level ops statistics"]
    lines += [header_sep, row_format.format(*headers), header_sep]
    shown = 0
    for e in events:
        if shown == row_limit:
            break
        if top_level_events_only and e.cpu_parent is not None:
            continue
        shown += 1
        name = e.key
        if max_name_column_width is not None and len(name) >= max_name_column_width - 3:
            name = name[:max_name_column_width - 3] + "..."
        row = [name, _format_time_share(e.self_cpu_time_total, total), _unit(e.self_cpu_time_total, time_unit),
               _format_time_share(e.cpu_time_total, total), _unit(e.cpu_time_total, time_unit),
               _unit(e.cpu_time, time_unit), e.count]
        if has_input_shapes:
            row.append(str(e.input_shapes)[:shapes_width])
        lines.append(row_format.format(*row))
    lines += [header_sep, f"Self CPU time total: {_unit(total, time_unit)}"]
    return "".join(line + "\n" for line in lines)


# -- recording -------------------------------------------------------------------------------------

_active: list = []  # the recording profilers, innermost last


def _op_name(cls) -> str:
    """PyTorch's event name for an op: ``aten::`` and the op in snake case; a custom Function's name."""
    if not cls.__module__.startswith("pygrad."):
        return cls.__name__
    node = cls._backward_cls.__name__
    base = re.sub(r"Backward\d*$", "", node)
    return "aten::" + re.sub(r"(?<!^)(?=[A-Z])", "_", base).lower()


def _shapes(args) -> list:
    return [list(a._data.shape) if hasattr(a, "_data") else [] for a in args]


def _observe_op(cls, args, kwargs, call):
    recorder = _active[-1]
    event = recorder.open(_op_name(cls), _shapes(args) if recorder.record_shapes else None)
    try:
        return call()
    finally:
        recorder.close(event)


def _timed_node_apply(original):
    @functools.wraps(original)
    def apply(node, *grads):
        recorder = _active[-1] if _active else None
        if recorder is None:
            return original(node, *grads)
        name = node.name()
        outer = recorder.open("autograd::engine::evaluate_function: " + name, [] if recorder.record_shapes else None)
        inner = recorder.open(name, [list(g._data.shape) if hasattr(g, "_data") else [] for g in grads]
                              if recorder.record_shapes else None)
        try:
            return original(node, *grads)
        finally:
            recorder.close(inner)
            recorder.close(outer)
    apply._profiler_original = original
    return apply


def _install() -> None:
    from .._backend import engine
    from .engine import _EngineUtil
    from .function import Node
    # The compiled engine remembers the unpatched Node.apply when it first runs: make sure it has
    # (an empty backward), so that it sees the timed one below as different and calls it.
    engine.run_backward((), (), False, False, None, False, _EngineUtil)
    op_observers.add(_observe_op)
    Node.apply = _timed_node_apply(Node.apply)


def _uninstall() -> None:
    from .function import Node
    op_observers.remove(_observe_op)
    Node.apply = Node.apply._profiler_original


class _Recorder:
    def __init__(self, record_shapes: bool):
        self.record_shapes = record_shapes
        self.events: list = []
        self.open_events: list = []

    def open(self, name: str, shapes) -> FunctionEvent:
        parent = self.open_events[-1] if self.open_events else None
        event = FunctionEvent(len(self.events), name, 0, shapes, parent)
        self.events.append(event)
        self.open_events.append(event)
        event.start_ns = time.perf_counter_ns()
        return event

    def close(self, event: FunctionEvent) -> None:
        event.end_ns = time.perf_counter_ns()
        if self.open_events and self.open_events[-1] is event:
            self.open_events.pop()
        else:  # closed out of order (an exception unwound several ranges): drop it wherever it is
            self.open_events = [e for e in self.open_events if e is not event]
        if event.cpu_parent is not None:
            event.cpu_parent.cpu_children.append(event)


def _start(recorder: _Recorder) -> None:
    if not _active:
        _install()
    _active.append(recorder)


def _stop(recorder: _Recorder) -> None:
    _active.remove(recorder)
    if not _active:
        _uninstall()


class profile:
    """``with profile() as prof:`` times the ops run inside; ``prof.key_averages().table()`` reports."""

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False, use_device=None, record_shapes: bool = False,
                 with_flops: bool = False, profile_memory: bool = False, with_stack: bool = False,
                 with_modules: bool = False, use_kineto: bool = False, use_cpu: bool = True,
                 experimental_config=None, acc_events: bool = False, custom_trace_id_callback=None):
        self.enabled = enabled
        self.record_shapes = record_shapes
        self._recorder = None
        self.function_events: EventList | None = None
        self.entered = False

    def __enter__(self):
        if not self.enabled:
            return self
        if self.entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self.entered = True
        self._recorder = _Recorder(self.record_shapes)
        _start(self._recorder)
        return self

    def __exit__(self, *exc):
        if not self.enabled:
            return
        _stop(self._recorder)
        self.function_events = EventList(self._recorder.events)

    def _check_finish(self) -> None:
        if self.function_events is None:
            raise RuntimeError("Profiler didn't finish running")

    def events(self) -> EventList:
        self._check_finish()
        return self.function_events

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        self._check_finish()
        return self.function_events.key_averages(group_by_input_shape, group_by_stack_n)

    def total_average(self) -> FunctionEventAvg:
        self._check_finish()
        return self.function_events.total_average()

    @property
    def self_cpu_time_total(self) -> float:
        self._check_finish()
        return self.function_events.self_cpu_time_total

    def table(self, sort_by=None, row_limit: int = 100, max_src_column_width: int = 75,
              max_name_column_width: int = 55, max_shapes_column_width: int = 80, header=None,
              top_level_events_only: bool = False, time_unit=None) -> str:
        self._check_finish()
        return self.function_events.table(sort_by, row_limit, max_src_column_width, max_name_column_width,
                                          max_shapes_column_width, header, top_level_events_only, time_unit)

    def export_chrome_trace(self, path: str) -> None:
        self._check_finish()
        self.function_events.export_chrome_trace(path)

    def __str__(self) -> str:
        return self.table() if self.function_events is not None else "<unfinished profile>"

    __repr__ = __str__


class record_function:
    """A named range in the profile: ``with record_function("forward"):`` or as a decorator."""

    def __init__(self, name: str, args: str | None = None):
        self.name = name
        self.args = args
        self._event = None
        self._recorder = None

    def __enter__(self):
        if _active:
            self._recorder = _active[-1]
            self._event = self._recorder.open(self.name, [] if self._recorder.record_shapes else None)
        return self

    def __exit__(self, *exc) -> Any:
        if self._event is not None:
            self._recorder.close(self._event)
            self._event = None
        return None

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with record_function(self.name, self.args):
                return fn(*args, **kwargs)
        return wrapper
