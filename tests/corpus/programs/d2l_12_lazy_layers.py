# Source: https://d2l.ai/chapter_builders-guide/lazy-init.html (Lazy Initialization)
# Changes: the input is a fixed tensor; the lazily created weights are overwritten with fixed values
#   before the output is printed.
import torch
from torch import nn

net = nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))
print(net[0].weight)
X = torch.linspace(-1, 1, 40).reshape(2, 20)
net(X)
print(net[0].weight.shape)
with torch.no_grad():
    for p in net.parameters():
        p.copy_(torch.linspace(-0.1, 0.1, p.numel()).reshape(p.shape))
print(net(X))
print(net)
