# Source: https://d2l.ai/chapter_convolutional-neural-networks/lenet.html (classic LeNet, layer shapes)
# Changes: X is torch.ones instead of torch.rand (only shapes are printed); the weights are set to
#   fixed values and the output for X is printed as well.
import torch
from torch import nn

net = nn.Sequential(
    nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
    nn.AvgPool2d(kernel_size=2, stride=2),
    nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
    nn.AvgPool2d(kernel_size=2, stride=2),
    nn.Flatten(),
    nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
    nn.Linear(120, 84), nn.Sigmoid(),
    nn.Linear(84, 10))

X = torch.ones(size=(1, 1, 28, 28), dtype=torch.float32)
for layer in net:
    X = layer(X)
    print(layer.__class__.__name__, 'output shape: \t', X.shape)

with torch.no_grad():
    for i, p in enumerate(net.parameters()):
        p.copy_(0.1 * torch.sin(torch.arange(p.numel(), dtype=torch.float32) * 0.5 + i).reshape(p.shape))
X = torch.linspace(0, 1, 28 * 28).reshape(1, 1, 28, 28)
print(net(X))
