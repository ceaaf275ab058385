"""The autograd tutorial pygrad grew from, example by example, run on pygrad."""
from __future__ import annotations

import contextlib
import io

EXAMPLES = [
    ("requires_grad tracks operations on a tensor", """\
x = torch.tensor([1.], requires_grad=True)
print(x)
"""),
    ("Setting requires_grad after creation", """\
x = torch.tensor([1.])
print(x)
print(x.requires_grad)
x.requires_grad = True
print(x)
print(x.requires_grad)
"""),
    ("backward() computes gradients: y = x**2, dy/dx = 2x", """\
x = torch.tensor([1.], requires_grad=True)
y = x**2
print(y)
print(x.grad)
y.backward()
print(x.grad)
"""),
    ("The chain rule: z = 3*x**2, dz/dx = 6x", """\
x = torch.tensor([1.], requires_grad=True)
y = x**2
print(y)
z = 3*y
print(z)
z.backward()
print(x.grad)
"""),
    ("A longer graph: c = (x**2 + 1)**2, dc/dx = 4x(x**2 + 1) = 8", """\
x = torch.tensor([1.], requires_grad=True)
a = x**2
b = a+1
print(b)
c = b**2
c.backward()
print(x.grad)
"""),
    ("Several variables: z = 2x**2 + y**2", """\
x = torch.tensor([1.], requires_grad=True)
y = torch.tensor([1.], requires_grad=True)
z = 2*x**2 + y**2
print(z)
z.backward()
print(x.grad)
print(y.grad)
"""),
    ("The product rule: z = y*x**2", """\
x = torch.tensor([1.], requires_grad=True)
y = torch.tensor([1.], requires_grad=True)
z = y*x**2
z.backward()
print(x.grad)
print(y.grad)
"""),
    ("Vector inputs: backward() from the scalar sum(x**2)", """\
x = torch.tensor([1., 2., 3.], requires_grad=True)
y = torch.sum(x**2)
y.backward()
print(y)
print(x.grad)
"""),
    ("requires_grad = False stops tracking", """\
x = torch.tensor([1.], requires_grad=True)
x.requires_grad = False
y = x**2
print(y)
"""),
    ("detach() shares data but not the graph", """\
x = torch.tensor([2.], requires_grad=True)
x2 = x.detach()
print(x)
print(x2)
y = x**2
print(y)
y2 = x2**2
print(y2)
"""),
    ("A detached tensor is a constant: w = x**2 + const", """\
x = torch.tensor([1.], requires_grad=True)
y = x**2
z = y.detach()
w = y+z
w.backward()
print(x.grad)
"""),
    ("torch.no_grad() records nothing inside it", """\
x = torch.tensor([1.], requires_grad=True)
with torch.no_grad():
    y = x**2
    print(x.requires_grad)
    print(y)
print(x.requires_grad)
y = x**2
print(y)
x = torch.tensor([1.], requires_grad=True)
x.requires_grad = False
y = x**2
print(x.requires_grad)
print(y)
"""),
]


def run_example(code: str) -> str:
    """Run one example with pygrad imported as ``torch``; return what it printed."""
    import pygrad
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, {"torch": pygrad})
    return out.getvalue()


def main() -> None:
    for i, (title, code) in enumerate(EXAMPLES, 1):
        print(f"## {i}. {title}\n")
        print("".join(f">>> {line}\n" if not line.startswith(" ") else f"... {line}\n"
                      for line in code.splitlines()))
        print(run_example(code))
