# Source: https://d2l.ai/chapter_builders-guide/model-construction.html (Layers and Modules,
#   classic version with nn.Linear)
# Changes: fixed inputs and weights instead of torch.rand / the random initialisation.
import torch
from torch import nn
from torch.nn import functional as F


def fixed_(module):
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            p.copy_(0.1 * torch.sin(torch.arange(p.numel(), dtype=torch.float32) + i).reshape(p.shape))
    return module


X = torch.linspace(0, 1, 40).reshape(2, 20)
net = fixed_(nn.Sequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10)))
print(net(X))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(20, 256)
        self.out = nn.Linear(256, 10)

    def forward(self, X):
        return self.out(F.relu(self.hidden(X)))


net = fixed_(MLP())
print(net(X))


class MySequential(nn.Module):
    def __init__(self, *args):
        super().__init__()
        for idx, module in enumerate(args):
            self._modules[str(idx)] = module

    def forward(self, X):
        for block in self._modules.values():
            X = block(X)
        return X


net = fixed_(MySequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10)))
print(net(X))


class FixedHiddenMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.rand_weight = torch.cos(torch.arange(400, dtype=torch.float32)).reshape(20, 20)
        self.linear = nn.Linear(20, 20)

    def forward(self, X):
        X = self.linear(X)
        X = F.relu(torch.mm(X, self.rand_weight) + 1)
        X = self.linear(X)
        while X.abs().sum() > 1:
            X /= 2
        return X.sum()


net = fixed_(FixedHiddenMLP())
print(net(X))


class NestMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
        self.linear = nn.Linear(32, 16)

    def forward(self, X):
        return self.linear(self.net(X))


chimera = fixed_(nn.Sequential(NestMLP(), nn.Linear(16, 20), FixedHiddenMLP()))
print(chimera(X))
print(chimera)
