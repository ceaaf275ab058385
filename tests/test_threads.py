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


def _hogwild(x):
    errors = []

    def work():
        try:
            for _ in range(STEPS):
                (x * 1.0).sum().backward()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


@pytest.mark.parametrize("first", ["none", "zeros"])
def test_concurrent_backward_into_one_leaf_sums_exactly(backend, frequent_switches, first):
    for _ in range(4):
        x = pygrad.ones(SIZE, requires_grad=True)
        if first == "zeros":
            x.grad = pygrad.zeros(SIZE)
        _hogwild(x)
        grad = x.grad.numpy()
        assert grad.min() == grad.max() == THREADS * STEPS


def test_concurrent_backward_through_a_shared_model(backend, frequent_switches):
    """Every thread builds its own graph over the same parameters (a layer, then a loss)."""
    pygrad.manual_seed(0)
    layer = pygrad.nn.Linear(256, 512)
    inputs = pygrad.ones(8, 256)
    errors = []

    def work():
        try:
            for _ in range(STEPS // 2):
                layer(inputs).sum().backward()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    runs = THREADS * (STEPS // 2)
    assert layer.bias.grad.numpy().min() == layer.bias.grad.numpy().max() == runs * 8
    assert layer.weight.grad.numpy().min() == layer.weight.grad.numpy().max() == runs * 8
