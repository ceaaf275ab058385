"""Backward passes in several threads into shared leaves (Hogwild-style training) lose no update."""
import sys
import threading

import pytest

import pygrad

THREADS, STEPS = 4, 50
SIZE = 1 << 17  # large enough for the in-place add to run without the GIL (and on OpenMP threads)


@pytest.fixture
def frequent_switches():
    """Switch threads often, so a check-then-set race shows up within a few trials."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def _in_threads(step, steps):
    """``step()`` ``steps`` times in each of THREADS threads at once; errors are re-raised."""
    errors = []

    def work():
        try:
            for _ in range(steps):
                step()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


@pytest.mark.parametrize("first", ["none", "zeros"])
def test_concurrent_backward_into_one_leaf_sums_exactly(backend, frequent_switches, first):
    for _ in range(4):
        x = pygrad.ones(SIZE, requires_grad=True)
        if first == "zeros":
            x.grad = pygrad.zeros(SIZE)
        _in_threads(lambda: (x * 1.0).sum().backward(), STEPS)
        grad = x.grad.numpy()
        assert grad.min() == grad.max() == THREADS * STEPS


def test_concurrent_backward_through_a_shared_model(backend, frequent_switches):
    """Every thread builds its own graph over the same parameters (a layer, then a loss)."""
    pygrad.manual_seed(0)
    layer = pygrad.nn.Linear(256, 512)
    inputs = pygrad.ones(8, 256)
    _in_threads(lambda: layer(inputs).sum().backward(), STEPS // 2)
    runs = THREADS * (STEPS // 2)
    assert layer.bias.grad.numpy().min() == layer.bias.grad.numpy().max() == runs * 8
    assert layer.weight.grad.numpy().min() == layer.weight.grad.numpy().max() == runs * 8
