"""Module hooks (forward, forward pre, full backward, backward pre, legacy, global) against PyTorch."""
import warnings

import numpy as np
import pytest

import pygrad


def _fmt(value):
    if value is None:
        return None
    if hasattr(value, "shape") and hasattr(value, "detach"):
        return (tuple(value.shape), _Close(value.detach().numpy()))
    if isinstance(value, (tuple, list)):
        return tuple(_fmt(v) for v in value)
    if isinstance(value, dict):
        return {k: _fmt(v) for k, v in value.items()}
    return value


class _Close:
    """Array values that compare equal within float32 rounding."""

    def __init__(self, array):
        self.array = np.asarray(array, np.float64)

    def __eq__(self, other):
        return self.array.shape == other.array.shape and np.allclose(self.array, other.array, rtol=1e-3, atol=1e-5)

    def __repr__(self):
        return repr(self.array.tolist())


def _model(m):
    m.manual_seed(0)
    model = m.nn.Sequential(m.nn.Linear(3, 4), m.nn.Tanh(), m.nn.Linear(4, 2))
    with m.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(m.tensor(np.linspace(-1, 1, p.numel()).reshape(p.shape) * (i + 1), dtype=m.float32))
    return model


def _x(m, requires_grad=True):
    return m.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]], requires_grad=requires_grad)


def _run(m, setup, requires_grad=True):
    events = []
    model = _model(m)
    handles = setup(m, model, events)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x = _x(m, requires_grad)
        out = model(x)
        events.append(("out", _fmt(out), out.grad_fn.name() if out.grad_fn is not None else None))
        (out * m.tensor([1.0, -2.0])).sum().backward()
    events.append(("x.grad", _fmt(x.grad)))
    events.append(("w.grad", _fmt(model[0].weight.grad)))
    for h in handles or ():
        h.remove()
    out2 = model(_x(m))
    events.append(("after remove", _fmt(out2)))
    return events, [(w.category.__name__, str(w.message)) for w in caught]


def _compare(torch, setup, requires_grad=True):
    ours, theirs = _run(pygrad, setup, requires_grad), _run(torch, setup, requires_grad)
    assert ours == theirs
    return ours


def test_forward_pre_hook_and_forward_hook_replace_args_and_output(torch):
    def setup(m, model, events):
        def pre(module, args):
            events.append(("pre", type(module).__name__, _fmt(args)))
            return (args[0] * 2,)

        def post(module, args, output):
            events.append(("post", type(module).__name__, _fmt(args), _fmt(output)))
            return output + 1

        def first(module, args, output):
            events.append(("first",))
        return [model[0].register_forward_pre_hook(pre), model[2].register_forward_hook(post),
                model[2].register_forward_hook(first, prepend=True)]
    events, _ = _compare(torch, setup)
    assert events[0][0] == "pre" and [e[0] for e in events[1:3]] == ["first", "post"]


def test_hooks_with_kwargs_and_pre_hook_returning_single_value(torch):
    def setup(m, model, events):
        def pre(module, args, kwargs):
            events.append(("pre", _fmt(args), sorted(kwargs)))
            return (args[0] + 1,), kwargs

        def post(module, args, kwargs, output):
            events.append(("post", _fmt(output)))

        def single(module, args):
            return args[0] * 0.5
        return [model.register_forward_pre_hook(pre, with_kwargs=True),
                model.register_forward_hook(post, with_kwargs=True), model[1].register_forward_pre_hook(single)]
    _compare(torch, setup)
    for m in (pygrad, torch):
        model = _model(m)
        model.register_forward_pre_hook(lambda mod, a, k: 1, with_kwargs=True)
        with pytest.raises(RuntimeError, match="forward pre-hook must return None or a tuple"):
            model(_x(m))


def test_always_call_hook_runs_when_forward_raises(torch):
    for m in (pygrad, torch):
        seen = []
        layer = m.nn.Linear(3, 2)
        layer.register_forward_hook(lambda mod, args, out: seen.append(out), always_call=True)
        layer.register_forward_hook(lambda mod, args, out: seen.append("never"))
        with pytest.raises(RuntimeError):
            layer(m.ones(4))
        assert seen == [None]


def test_full_backward_hooks_see_and_replace_gradients(torch):
    def setup(m, model, events):
        def pre(module, grad_output):
            events.append(("bpre", type(module).__name__, _fmt(grad_output)))
            return (grad_output[0] * 3,)

        def full(module, grad_input, grad_output):
            events.append(("bfull", type(module).__name__, _fmt(grad_input), _fmt(grad_output)))
            return (grad_input[0] * 0.5,)
        return [model[2].register_full_backward_pre_hook(pre), model[2].register_full_backward_hook(full),
                model[0].register_full_backward_hook(full)]
    events, _ = _compare(torch, setup)
    assert [e[0] for e in events[1:4]] == ["bpre", "bfull", "bfull"]


def test_full_backward_hook_when_no_input_requires_grad_warns_like_torch(torch):
    def setup(m, model, events):
        return [model[0].register_full_backward_hook(
            lambda mod, gi, go: events.append(("bfull", _fmt(gi), _fmt(go))))]
    (events, caught) = _compare(torch, setup, requires_grad=False)
    assert any("Full backward hook is firing" in text for _, text in caught)


def test_legacy_backward_hook_and_its_warnings(torch):
    def setup(m, model, events):
        def legacy(module, grad_input, grad_output):
            events.append(("legacy", type(module).__name__, _fmt(grad_input), _fmt(grad_output)))
        return [model[1].register_backward_hook(legacy), model[2].register_backward_hook(legacy)]
    events, caught = _compare(torch, setup)
    assert [e[0] for e in events[1:3]] == ["legacy", "legacy"] and caught
    for m in (pygrad, torch):
        layer = m.nn.Linear(1, 1)
        layer.register_backward_hook(lambda *a: None)
        with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full"):
            layer.register_full_backward_hook(lambda *a: None)


def test_global_module_hooks(torch):
    def setup(m, model, events):
        mm = m.nn.modules.module
        return [mm.register_module_forward_pre_hook(lambda mod, args: events.append(("gpre", type(mod).__name__))),
                mm.register_module_forward_hook(lambda mod, args, out: events.append(("gpost", _fmt(out)))),
                mm.register_module_full_backward_hook(
                    lambda mod, gi, go: events.append(("gfull", type(mod).__name__, _fmt(gi)))),
                mm.register_module_full_backward_pre_hook(
                    lambda mod, go: events.append(("gbpre", type(mod).__name__)))]
    events, _ = _compare(torch, setup)
    assert sum(e[0] == "gpre" for e in events) == 4


def test_output_of_a_module_with_a_full_backward_hook_has_torch_grad_fn(torch):
    names = []
    for m in (pygrad, torch):
        layer = m.nn.Linear(2, 2)
        layer.register_full_backward_hook(lambda *a: None)
        out = layer(m.ones(1, 2, requires_grad=True))
        names.append(out.grad_fn.name())
    assert names[0] == names[1] == "BackwardHookFunctionBackward"
