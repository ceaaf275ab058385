import atexit
import os
import shutil
import tempfile

import numpy as np
import pytest

# Kernels that fused passes compile while the suite runs go to a directory of the run's own,
# not the user's cache.
if "PYGRAD_CACHE_DIR" not in os.environ:
    os.environ["PYGRAD_CACHE_DIR"] = tempfile.mkdtemp(prefix="pygrad-test-cache-")
    atexit.register(shutil.rmtree, os.environ["PYGRAD_CACHE_DIR"], True)

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


@pytest.fixture
def create_graph_warning(monkeypatch):
    """The next ``backward(create_graph=True)`` warns (pygrad warns once per process, as PyTorch)."""
    from pygrad import _errors
    from pygrad.autograd.engine import CREATE_GRAPH_CYCLE
    monkeypatch.setattr(_errors, "_WARNED", _errors._WARNED - {CREATE_GRAPH_CYCLE})
