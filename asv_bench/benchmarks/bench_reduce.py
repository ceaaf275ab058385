"""Reductions, and the broadcast reduction the engine does when a broadcast input gets its gradient."""
import pygrad

from .common import BACKENDS, array, grid, leaf, matrix_shape, use_backend

SIZES = grid([1, 1_000, 1_000_000], [1, 1_000])

REDUCTIONS = {
    "sum": lambda x: x.sum(),
    "sum_rows": lambda x: x.sum(0),
    "sum_cols": lambda x: x.sum(1),
    "mean": lambda x: x.mean(),
}


class Reduction:
    params = [BACKENDS, list(REDUCTIONS), SIZES]
    param_names = ["backend", "reduction", "size"]

    def setup(self, backend, reduction, size):
        use_backend(backend)
        self.fn = REDUCTIONS[reduction]
        self.x = leaf(matrix_shape(size))
        out = self.fn(self.x)
        self.g = pygrad.tensor(array(tuple(out.shape), seed=1))

    def time_forward(self, backend, reduction, size):
        with pygrad.no_grad():
            self.fn(self.x)

    def time_forward_backward(self, backend, reduction, size):
        self.x.grad = None
        self.fn(self.x).backward(self.g)


class BroadcastReduction:
    """``x (rows, cols) op b`` with b a row (cols,) or a column (rows, 1): b's gradient is summed."""

    params = [BACKENDS, ["add_row", "mul_row", "add_column"], SIZES]
    param_names = ["backend", "case", "size"]

    def setup(self, backend, case, size):
        use_backend(backend)
        rows, cols = matrix_shape(size)
        self.x = leaf((rows, cols))
        self.b = leaf((cols,) if case.endswith("row") else (rows, 1), seed=1)
        self.mul = case.startswith("mul")
        self.g = pygrad.tensor(array((rows, cols), seed=2))

    def time_forward_backward(self, backend, case, size):
        self.x.grad = self.b.grad = None
        out = self.x * self.b if self.mul else self.x + self.b
        out.backward(self.g)
