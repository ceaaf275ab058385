"""The profiler: real per-op events named as PyTorch names them, and PyTorch's table layout."""
import numpy as np
import pytest

import pygrad
from pygrad.autograd import op_observers
from pygrad.autograd.profiler import EventList, FunctionEventAvg


def _program(lib):
    x = lib.tensor(np.linspace(-1, 1, 12).reshape(3, 4), requires_grad=True)
    w = lib.tensor(np.linspace(0, 1, 8).reshape(4, 2), requires_grad=True)
    with lib.autograd.profiler.record_function("forward_pass"):
        y = lib.relu(lib.mm(x, w)).sum()
    y.backward()


def _names(prof) -> set:
    return {e.key for e in prof.key_averages()}


def test_events_named_as_torch(torch):
    with pygrad.autograd.profiler.profile() as ours:
        _program(pygrad)
    with torch.autograd.profiler.profile() as theirs:
        _program(torch)
    expected = {"forward_pass", "aten::mm", "aten::relu", "aten::sum", "MmBackward0", "ReluBackward0",
                "SumBackward0", "autograd::engine::evaluate_function: MmBackward0",
                "autograd::engine::evaluate_function: ReluBackward0"}
    assert expected <= _names(ours)
    assert expected <= _names(theirs)
    forward = next(e for e in ours.events() if e.name == "forward_pass")
    assert {c.name for c in forward.cpu_children} == {"aten::mm", "aten::relu", "aten::sum"}
    assert forward.cpu_time_total >= sum(c.cpu_time_total for c in forward.cpu_children) > 0
    averages = {e.key: e for e in ours.key_averages()}
    assert averages["forward_pass"].count == 1
    assert averages["aten::mm"].cpu_time_total > 0


@pytest.mark.parametrize("backend", ["native", "pure"], indirect=False)
def test_backward_events_on_each_backend(backend):
    from pygrad import _backend
    if backend not in _backend.available():
        pytest.skip(f"{backend} backend not built")
    with _backend.use(backend):
        with pygrad.profiler.profile(activities=[pygrad.profiler.ProfilerActivity.CPU], record_shapes=True) as prof:
            _program(pygrad)
    shapes = {e.key: e.input_shapes for e in prof.key_averages(group_by_input_shape=True)}
    assert shapes["aten::mm"] == [[3, 4], [4, 2]]
    assert "MmBackward0" in shapes


def _synthetic(lib_avg, lib_list, with_shapes):
    rows = [("aten::mm", 3, 181936.0, 181947.5), ("autograd::engine::evaluate_function: MmBackward0", 1, 88.277,
                                                    147598.0),
            ("model_inference", 1, 9416.0, 44382.0), ("aten::relu", 2, 81.213, 150.512),
            ("a very long name that goes beyond the fifty five characters of the column", 4, 0.5, 2.25)]
    events = []
    for key, count, self_us, total_us in rows:
        e = lib_avg()
        e.key, e.count, e.self_cpu_time_total, e.cpu_time_total = key, count, self_us, total_us
        e.node_id = -1  # what real (not distributed) events carry
        e.input_shapes = [[count, 2], []] if with_shapes else None
        events.append(e)
    return lib_list(events)


@pytest.mark.parametrize("kwargs", [dict(), dict(sort_by="cpu_time_total"), dict(sort_by="self_cpu_time_total",
                                                                                 row_limit=3),
                                    dict(sort_by="count", header="HEAD"), dict(time_unit="ms")])
@pytest.mark.parametrize("with_shapes", [False, True])
def test_table_text_is_torchs(kwargs, with_shapes, torch):
    from torch.autograd import profiler_util
    ours = _synthetic(lambda: FunctionEventAvg(""), EventList, with_shapes).table(**kwargs)
    theirs = _synthetic(profiler_util.FunctionEventAvg, profiler_util.EventList, with_shapes).table(**kwargs)
    assert ours == theirs


def test_profiler_schedule_and_trace_handler(tmp_path):
    ready = []
    sched = pygrad.profiler.schedule(wait=1, warmup=1, active=2, repeat=1)
    with pygrad.profiler.profile(schedule=sched, on_trace_ready=ready.append) as prof:
        for step in range(6):
            pygrad.ones(2) * step
            prof.step()
    assert len(ready) == 1
    assert [e.name for e in prof.events()] == ["aten::mul", "aten::mul"]  # the two active steps
    handler = pygrad.profiler.tensorboard_trace_handler(str(tmp_path))
    with pygrad.profiler.profile(on_trace_ready=handler):
        pygrad.ones(2).exp()
    assert len(list(tmp_path.iterdir())) == 1


def test_nothing_is_hooked_outside_a_profile():
    from pygrad.autograd.function import Node
    original = Node.apply
    with pygrad.autograd.profiler.profile():
        assert op_observers.observers
        assert Node.apply is not original
    assert not op_observers.observers
    assert Node.apply is original
    with pytest.raises(RuntimeError, match="Profiler didn't finish running"):
        pygrad.autograd.profiler.profile().key_averages()
