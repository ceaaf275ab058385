# Source: https://d2l.ai/chapter_builders-guide/custom-layer.html (Custom Layers, classic)
# Changes: MyLinear's weight and bias start from fixed values instead of torch.randn; the mean of the
#   centred output (zero up to rounding noise) is printed as a comparison with 1e-6.
import torch
from torch import nn
from torch.nn import functional as F


class CenteredLayer(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, X):
        return X - X.mean()


layer = CenteredLayer()
print(layer(torch.tensor([1.0, 2, 3, 4, 5])))
net = nn.Sequential(nn.Linear(8, 128), CenteredLayer())
with torch.no_grad():
    net[0].weight.copy_(torch.sin(torch.arange(1024, dtype=torch.float32)).reshape(128, 8))
    net[0].bias.zero_()
Y = net(torch.linspace(0, 1, 32).reshape(4, 8))
print(Y.mean().abs() < 1e-6)


class MyLinear(nn.Module):
    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.linspace(-1, 1, in_units * units).reshape(in_units, units))
        self.bias = nn.Parameter(torch.linspace(0, 0.5, units))

    def forward(self, X):
        linear = torch.matmul(X, self.weight.data) + self.bias.data
        return F.relu(linear)


linear = MyLinear(5, 3)
print(linear.weight)
print(linear(torch.linspace(-1, 1, 10).reshape(2, 5)))
net = nn.Sequential(MyLinear(64, 8), MyLinear(8, 1))
print(net(torch.linspace(0, 0.1, 128).reshape(2, 64)))
