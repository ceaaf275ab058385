"""Forward against reverse mode: the Jacobian of a tanh MLP ``W2 tanh(W1 x)`` by ``func.jacfwd``
and ``func.jacrev``, tall (8 inputs, 512 outputs) and wide (512 inputs, 8 outputs).

jacfwd takes a pass per input and jacrev a pass per output, so each should win on one shape:
``pygrad.bench.workloads.Jacobian`` holds the function, its sizes and its NumPy reference.
"""
import pygrad
from pygrad.bench.workloads import WORKLOADS

from .common import BACKENDS, use_backend

SHAPES = {"tall": (8, 512), "wide": (512, 8)}


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
