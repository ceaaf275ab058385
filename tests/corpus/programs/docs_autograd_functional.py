# Source: https://pytorch.org/docs/stable/autograd.html#functional-higher-level-api (the examples of
#   jacobian, hessian, vjp, jvp, hvp, vhp) and torch.autograd.grad's higher-order use
# Changes: torch.rand inputs are fixed tensors (chosen so that no printed value is zero up to
#   rounding noise).
import torch
from torch.autograd.functional import hessian, hvp, jacobian, jvp, vhp, vjp


def exp_reducer(x):
    return x.exp().sum(dim=1)


inputs = torch.linspace(0, 1, 4).reshape(2, 2)
print(jacobian(exp_reducer, inputs))
print(jacobian(exp_reducer, inputs, create_graph=True))


def exp_adder(x, y):
    return 2 * x.exp() + 3 * y


inputs = (torch.tensor([0.1, 0.2]), torch.tensor([0.3, 0.4]))
print(jacobian(exp_adder, inputs))


def pow_reducer(x):
    return x.pow(3).sum()


inputs = torch.tensor([[0.5, -1.0], [2.0, 0.25]])
print(hessian(pow_reducer, inputs))


def pow_adder_reducer(x, y):
    return (2 * x.pow(2) + 3 * y.pow(2)).sum()


inputs = (torch.tensor([0.1, 0.2]), torch.tensor([0.3, 0.4]))
print(hessian(pow_adder_reducer, inputs))

inputs = torch.linspace(-1, 2, 16).reshape(4, 4)
v = torch.ones(4)
print(vjp(exp_reducer, inputs, v))
v = torch.ones(4, 4)
print(jvp(exp_reducer, inputs, v))
print(vhp(pow_reducer, inputs, v))
print(hvp(pow_reducer, inputs, v))

x = torch.tensor([1.0, 2.0], requires_grad=True)
y = (x ** 3).sum()
(g,) = torch.autograd.grad(y, x, create_graph=True)
print(g)
(g2,) = torch.autograd.grad(g.sum(), x)
print(g2)
