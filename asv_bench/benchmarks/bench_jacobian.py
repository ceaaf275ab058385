"""Forward against reverse mode: the Jacobian of ``tanh(W x)`` by ``func.jacfwd`` and
``func.jacrev``, tall (4 inputs, 256 outputs) and wide (256 inputs, 4 outputs).

jacfwd takes a pass per input and jacrev a pass per output, so each should win on one shape:
``pygrad.bench.workloads.Jacobian`` holds the function, its sizes and its NumPy reference.
"""
import pygrad
from pygrad.bench.workloads import WORKLOADS

from .common import BACKENDS, use_backend

SHAPES = {"tall": (4, 256), "wide": (256, 4)}


class JacobianModes:
    param_names = ["backend", "transform", "shape"]
    params = [BACKENDS, ["JACFWD", "JACREV"], list(SHAPES)]
    timeout = 300

    def setup(self, backend, transform, shape):
        use_backend(backend)
        self.workload = WORKLOADS[transform]
        missing = self.workload.missing(pygrad)
        if missing:
            raise NotImplementedError(f"pygrad lacks {', '.join(missing)}")
        self.state = self.workload.build(pygrad, self.workload.inputs(SHAPES[shape]))

    def time_jacobian(self, backend, transform, shape):
        self.workload.step(pygrad, self.state)
