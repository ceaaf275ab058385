import numpy as np
import pytest

import pygrad
from pygrad import _backend


@pytest.fixture
def torch():
    """PyTorch, the oracle of the differential tests; they skip cleanly without it."""
    return pytest.importorskip("torch")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def pytest_report_header(config):
    return f"pygrad backend: {pygrad.backend()}"


@pytest.fixture(params=_backend.available())
def backend(request):
    """Run the test on each backend that is built here ("native", "pure"), switched at run time."""
    with _backend.use(request.param):
        yield request.param
