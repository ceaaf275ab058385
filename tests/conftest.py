import numpy as np
import pytest

import pygrad


@pytest.fixture
def torch():
    """PyTorch, the oracle of the differential tests; they skip cleanly without it."""
    return pytest.importorskip("torch")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def pytest_report_header(config):
    return f"pygrad backend: {pygrad.backend()}"
