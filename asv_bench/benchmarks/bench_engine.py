"""The backward engine on deep chains and on wide fan-out / fan-in graphs of cheap ops."""
import pygrad

from .common import BACKENDS, grid, leaf, tree_sum, use_backend


class DeepChain:
    """``x + 1`` repeated ``depth`` times on a one-element tensor: per-node cost of the engine."""

    params = [BACKENDS, grid([10_000, 100_000], [1_000])]
    param_names = ["backend", "depth"]
    timeout = 300
    repeat = (1, 5, 20.0)

    def setup(self, backend, depth):
        use_backend(backend)
        self.x = leaf((1,))
        self.out = self.chain(depth)

    def chain(self, depth):
        y = self.x
        for _ in range(depth):
            y = y + 1.0
        return y

    def time_forward(self, backend, depth):
        self.chain(depth)

    def time_backward(self, backend, depth):
        self.x.grad = None
        self.out.sum().backward(retain_graph=True)

    def peakmem_forward_backward(self, backend, depth):
        self.chain(depth).sum().backward()


class FanOut:
    """One leaf used by ``width`` products, summed pairwise: ``width`` gradients meet at the leaf."""

    params = [BACKENDS, grid([1_000, 10_000], [100])]
    param_names = ["backend", "width"]

    def setup(self, backend, width):
        use_backend(backend)
        self.x = leaf((1,))
        self.out = tree_sum([self.x * (1.0 + i / width) for i in range(width)]).sum()

    def time_backward(self, backend, width):
        self.x.grad = None
        self.out.backward(retain_graph=True)


class FanIn:
    """``width`` leaves, each scaled, summed pairwise into one root: ``width`` leaves to fill."""

    params = [BACKENDS, grid([1_000, 10_000], [100])]
    param_names = ["backend", "width"]

    def setup(self, backend, width):
        use_backend(backend)
        self.xs = [leaf((1,), seed=i) for i in range(width)]
        self.out = tree_sum([x * 2.0 for x in self.xs]).sum()

    def time_backward(self, backend, width):
        for x in self.xs:
            x.grad = None
        self.out.backward(retain_graph=True)
