"""Anomaly mode: the NaN error, the forward traceback warning, and switching it on and off."""
import warnings

import pytest

import pygrad

NAN_ERROR = "Function '{}' returned nan values in its 0th output."


@pytest.fixture(autouse=True)
def anomaly_off_afterwards():
    yield
    pygrad.autograd.set_detect_anomaly(False)


def _nan_backward(m, op):
    """Backward through ``op`` at 0 multiplied by 0: the gradient is 0 * inf = nan."""
    x = m.tensor([0.0, 1.0], requires_grad=True)
    y = op(x)  # the line the warning must point at
    (y * 0).sum().backward()
    return x


@pytest.mark.parametrize("op,node", [(lambda x: x.sqrt(), "SqrtBackward0"), (lambda x: x.log(), "LogBackward0"),
                                     (lambda x: x.rsqrt(), "RsqrtBackward0")])
def test_nan_error_text_matches_torch(op, node, torch):
    texts = []
    for m in (pygrad, torch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with m.autograd.detect_anomaly():
                with pytest.raises(RuntimeError) as info:
                    _nan_backward(m, op)
        texts.append(str(info.value))
    assert texts[0] == texts[1] == NAN_ERROR.format(node)


def test_warning_shows_the_forward_call():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pygrad.autograd.detect_anomaly():
            with pytest.raises(RuntimeError, match="returned nan values"):
                _nan_backward(pygrad, lambda x: x.sqrt())
    messages = [str(w.message) for w in caught]
    assert messages[0] == ("Anomaly Detection has been enabled. This mode will increase the runtime and should "
                           "only be enabled for debugging.")
    report = [t for t in messages if t.startswith("Error detected in SqrtBackward0.")]
    assert len(report) == 1
    text = report[0]
    assert text.startswith("Error detected in SqrtBackward0. Traceback of forward call that caused the error:\n")
    assert "in _nan_backward" in text and "y = op(x)  # the line the warning must point at" in text
    assert "pygrad" + "/ops" not in text  # the library's own frames are left out, like torch's C++ frames
    assert all(w.category is UserWarning for w in caught)


def test_errors_raised_inside_backward_are_reported_too():
    class Broken(pygrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            raise ValueError("broken backward")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pygrad.autograd.set_detect_anomaly(True):
            x = pygrad.ones(2, requires_grad=True)
            y = Broken.apply(x)
            with pytest.raises(ValueError, match="broken backward"):
                y.sum().backward()
    assert any(str(w.message).startswith("Error detected in BrokenBackward. Traceback of forward call")
               for w in caught)


def test_without_anomaly_mode_nan_flows_silently(torch):
    reprs = []
    for m in (pygrad, torch):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # neither library warns (no NumPy RuntimeWarning either)
            x = m.tensor([0.0, 1.0], requires_grad=True)
            (x.sqrt() * 1).sum().backward()
        reprs.append(repr(x.grad))
    assert reprs[0] == reprs[1] == "tensor([   inf, 0.5000])"
    x = pygrad.tensor([0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (x.log() * 0).sum().backward()
    assert repr(x.grad) == "tensor([nan, 0.])"


def test_check_nan_false_records_but_does_not_raise(torch):
    for m in (pygrad, torch):
        m.autograd.set_detect_anomaly(True, check_nan=False)
        try:
            assert (m.is_anomaly_enabled(), m.is_anomaly_check_nan_enabled()) == (True, False)
            x = _nan_backward(m, lambda x: x.log())
            assert repr(x.grad) == "tensor([nan, 0.])"
        finally:
            m.autograd.set_detect_anomaly(False)
        assert (m.is_anomaly_enabled(), m.is_anomaly_check_nan_enabled()) == (False, True)


def test_modes_as_call_context_and_decorator(torch):
    for m in (pygrad, torch):
        assert not m.is_anomaly_enabled()
        with m.autograd.set_detect_anomaly(True):
            assert m.is_anomaly_enabled()
        assert not m.is_anomaly_enabled()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")

            with m.autograd.detect_anomaly(check_nan=False):
                assert m.is_anomaly_enabled() and not m.is_anomaly_check_nan_enabled()
        assert m.is_anomaly_check_nan_enabled()
        assert type(m.autograd.set_detect_anomaly(False)).__name__ == "set_detect_anomaly"


def test_detect_anomaly_as_decorator():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")

        @pygrad.autograd.detect_anomaly()
        def inside():
            return pygrad.is_anomaly_enabled()

    assert inside() and not pygrad.is_anomaly_enabled()


def test_nodes_record_a_trace_only_in_anomaly_mode():
    x = pygrad.ones(2, requires_grad=True)
    assert (x * 2).grad_fn._anomaly_trace is None
    with pygrad.autograd.set_detect_anomaly(True):
        node = (x * 2).grad_fn
    assert node._anomaly_trace and "node = (x * 2).grad_fn" in "".join(node._anomaly_trace)
