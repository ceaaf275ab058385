"""Matrix products, forward and backward."""
import pygrad

from .common import BACKENDS, array, grid, leaf, require, use_backend


class Matmul:
    params = [BACKENDS, grid([16, 128, 512], [16])]
    param_names = ["backend", "n"]

    def setup(self, backend, n):
        require("__matmul__")
        use_backend(backend)
        self.a = leaf((n, n))
        self.b = leaf((n, n), seed=1)
        self.g = pygrad.tensor(array((n, n), seed=2))

    def time_forward(self, backend, n):
        with pygrad.no_grad():
            self.a @ self.b

    def time_forward_backward(self, backend, n):
        self.a.grad = self.b.grad = None
        (self.a @ self.b).backward(self.g)
