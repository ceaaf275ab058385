"""``torch.profiler``: ``profile(activities=[ProfilerActivity.CPU], ...)``, schedules and ``record_function``,
on the recorder of ``pygrad.autograd.profiler``."""
from __future__ import annotations

import enum
from typing import Callable, Iterable

from ..autograd.profiler import EventList, record_function
from ..autograd.profiler import profile as _autograd_profile

__all__ = ["profile", "record_function", "ProfilerActivity", "ProfilerAction", "schedule",
           "tensorboard_trace_handler"]


class ProfilerActivity(enum.Enum):
    """What to profile (``CPU``; ``CUDA`` is accepted and empty)."""
    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5


class ProfilerAction(enum.Enum):
    """What a profiling schedule asks for at a step."""
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0) -> Callable[[int], ProfilerAction]:
    """PyTorch's step schedule: skip, then cycles of ``wait`` idle, ``warmup`` and ``active`` recorded steps."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise ValueError("Invalid profiler schedule arguments")

    def schedule_fn(step: int) -> ProfilerAction:
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait and step < wait:
            return ProfilerAction.NONE
        num_steps = wait + warmup + active
        if repeat > 0 and step / num_steps >= repeat:
            return ProfilerAction.NONE
        mod_step = step % num_steps
        if mod_step < wait:
            return ProfilerAction.NONE
        if mod_step < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if mod_step < num_steps - 1 else ProfilerAction.RECORD_AND_SAVE
    return schedule_fn


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None, use_gzip: bool = False):
    """An ``on_trace_ready`` that writes a Chrome trace JSON file into ``dir_name``."""
    import os
    import socket
    import time

    def handler(prof) -> None:
        os.makedirs(dir_name, exist_ok=True)
        name = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        prof.export_chrome_trace(os.path.join(dir_name, f"{name}.{time.time_ns()}.pt.trace.json"))
    return handler


class profile:
    """``with torch.profiler.profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:``.

    Without a ``schedule`` every op inside is recorded; with one, ``prof.step()`` advances it
    and ``on_trace_ready(prof)`` runs at the end of each recorded cycle.
    """

    def __init__(self, *, activities: Iterable[ProfilerActivity] | None = None, schedule=None, on_trace_ready=None,
                 record_shapes: bool = False, profile_memory: bool = False, with_stack: bool = False,
                 with_flops: bool = False, with_modules: bool = False, experimental_config=None,
                 execution_trace_observer=None, acc_events: bool = False, use_cuda=None, custom_trace_id_callback=None,
                 post_processing_timeout_s=None):
        self.activities = set(activities) if activities is not None else {ProfilerActivity.CPU}
        self.schedule = schedule
        self.on_trace_ready = on_trace_ready
        self.record_shapes = record_shapes
        self.step_num = 0
        self.profiler: _autograd_profile | None = None
        self._finished: _autograd_profile | None = None

    def _action(self) -> ProfilerAction:
        return self.schedule(self.step_num) if self.schedule is not None else ProfilerAction.RECORD

    def _start_recording(self) -> None:
        self.profiler = _autograd_profile(record_shapes=self.record_shapes)
        self.profiler.__enter__()

    def _stop_recording(self, save: bool) -> None:
        if self.profiler is not None:
            self.profiler.__exit__(None, None, None)
            self._finished, self.profiler = self.profiler, None
            if save and self.on_trace_ready is not None:
                self.on_trace_ready(self)

    def _recording(self) -> bool:
        """Warm-up steps are not kept (PyTorch discards their events), so only these record."""
        return self._action() in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)

    def start(self) -> None:
        """Start recording."""
        if self._recording():
            self._start_recording()

    def stop(self) -> None:
        """Stop recording."""
        self._stop_recording(save=self.profiler is not None)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def step(self) -> None:
        """Advance the schedule: start, keep or stop recording as the next step's action says."""
        previous = self._action()
        self.step_num += 1
        if previous == ProfilerAction.RECORD_AND_SAVE:
            self._stop_recording(save=True)
        if self._recording() and self.profiler is None:
            self._start_recording()

    def _result(self) -> _autograd_profile:
        result = self._finished
        if result is None:
            raise RuntimeError("Profiler didn't finish running")  # as the autograd profiler says
        return result

    def events(self) -> EventList:
        """The recorded events."""
        return self._result().events()

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        """The events grouped by name, with totals (``.table()`` prints PyTorch's table)."""
        return self._result().key_averages(group_by_input_shape, group_by_stack_n)

    def export_chrome_trace(self, path: str) -> None:
        """Write the events as a Chrome trace (JSON)."""
        self._result().export_chrome_trace(path)
