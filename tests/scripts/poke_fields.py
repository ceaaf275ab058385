"""Write wrong values into every writable attribute of tensors, nodes and saved tensors,
then use the graph (backward, grad, printing, more ops).

Run as a script: it prints each case before trying it and ``done <count>`` at the end, so a
process that dies on a signal names the case that killed it.  Errors are expected; only a
crash of the interpreter is a failure.
"""
import inspect
import sys

import numpy as np

import pygrad as torch
from pygrad.autograd import Function


class Scale(Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.k = k
        ctx.save_for_backward(x)
        return x * k

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ctx.k + x * 0, None


def build():
    """A small graph with a leaf, out-of-place, in-place, view and custom nodes; every object
    of it that a test may poke, by name."""
    x = torch.randn(3, 4, requires_grad=True)
    w = torch.randn(4, requires_grad=True)
    h = (x * w).exp()
    h.add_(1.0)
    v = h[1]
    v.mul_(2.0)
    y = Scale.apply(h.tanh(), 3.0)
    out = y.sum()
    objects = {"x": x, "w": w, "h": h, "v": v, "y": y, "out": out, "x.version": x._version}
    stack = [out.grad_fn, v.grad_fn]
    while stack:  # one node of each kind in the graph, and one saved tensor
        node = stack.pop()
        objects.setdefault(type(node).__name__, node)
        for saved in getattr(node, "_saved", None) or ():
            if saved is not None:
                objects.setdefault("saved", saved)
        stack += [child for child, _ in node.next_functions if child is not None]
    return objects


BAD_VALUES = {
    "list": lambda g: [[None, 0]],
    "longer tuple": lambda g: tuple(g["out.grad_fn"].next_functions) * 3 + ((None, 0),),
    "tuple of non-edges": lambda g: (1, "a", None),
    "edge to a non-node": lambda g: ((object(), 0),),
    "edge with a huge index": lambda g: ((g["y.grad_fn"], 10 ** 9),),
    "edge with a negative index": lambda g: ((g["y.grad_fn"], -5),),
    "short edge": lambda g: ((g["y.grad_fn"],),),
    "object": lambda g: object(),
    "huge int": lambda g: 10 ** 9,
    "negative int": lambda g: -(10 ** 9),
    "very huge int": lambda g: 10 ** 30,
    "None": lambda g: None,
    "empty tuple": lambda g: (),
    "tuple of ints": lambda g: (1, 2),
    "string": lambda g: "x",
    "a node": lambda g: g["out.grad_fn"],
    "a tensor": lambda g: torch.ones(2, requires_grad=True),
    "a float64 tensor of another shape": lambda g: torch.zeros(5, 1, dtype=torch.float64),
    "an array of another shape and dtype": lambda g: np.zeros((2, 5), np.int16),
    "a read-only broadcast array": lambda g: np.broadcast_to(np.float32(1), (3, 4)),
    "metadata of another shape": lambda g: (((7, 2), torch.float64),) * 3,
}


def attributes(obj):
    """The names of the object's data: fields, properties and instance attributes (methods,
    which the engine looks up on the class, are left out)."""
    names = set(dir(obj)) | set(getattr(obj, "__dict__", {}))
    for cls in type(obj).__mro__:
        names |= set(getattr(cls, "__slots__", ()))
    return sorted(n for n in names if not n.startswith("__") and not _is_method(type(obj), n))


def _is_method(cls, name):
    value = inspect.getattr_static(cls, name, None)
    return inspect.isfunction(value) or inspect.ismethoddescriptor(value) or isinstance(
        value, (staticmethod, classmethod))


def use(g):
    """Everything a user may do next with the graph; errors are fine, crashes are not."""
    steps = [
        lambda: g["out"].backward(retain_graph=True),
        lambda: torch.autograd.grad(g["out"], [g["x"], g["w"]], retain_graph=True, allow_unused=True),
        lambda: g["y"].backward(torch.ones(3, 4), retain_graph=True),
        lambda: (g["h"] * 2).sum().backward(),
        lambda: g["v"].sum().backward(),
        lambda: g["out"].backward(create_graph=True),
        lambda: [repr(t) for t in g.values()],
        lambda: [repr(g[k].grad_fn) for k in ("x", "h", "v", "y", "out")],
        lambda: g["y.grad_fn"].saved_tensors,
        lambda: [(n.name(), n.next_functions) for n in g.values() if hasattr(n, "next_functions")],
        lambda: (g["x"] + 1, g["x"].sum(), g["h"].add_(1), g["v"].mul_(1)),
        lambda: g["x"].grad + 0,
    ]
    for step in steps:
        try:
            step()
        except Exception:
            pass


def main():
    import warnings
    warnings.simplefilter("ignore")
    count = 0
    names = {key: attributes(obj) for key, obj in build().items()}
    for key, attrs in names.items():
        for attr in attrs:
            for label, make in BAD_VALUES.items():
                g = build()
                print(f"{key}.{attr} = {label}", flush=True)
                try:
                    setattr(g[key], attr, make(g))
                except Exception:
                    continue  # read-only or validated
                count += 1
                use(g)
    print("done", count, flush=True)


if __name__ == "__main__":
    sys.exit(main())
