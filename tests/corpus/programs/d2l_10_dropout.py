# Source: https://d2l.ai/chapter_multilayer-perceptrons/dropout.html (dropout_layer from scratch)
# Changes: only the deterministic cases (p = 0 and p = 1) and eval mode are printed; the random mask
#   case prints the shape and the set of values it can take.
import torch
from torch import nn


def dropout_layer(X, dropout):
    assert 0 <= dropout <= 1
    if dropout == 1:
        return torch.zeros_like(X)
    mask = (torch.rand(X.shape) > dropout).float()
    return mask * X / (1.0 - dropout)


X = torch.arange(16, dtype=torch.float32).reshape((2, 8))
print('dropout_p = 0:', dropout_layer(X, 0))
half = dropout_layer(X, 0.5)
print('dropout_p = 0.5:', half.shape, bool(((half == 0) | (half == 2 * X)).all()))
print('dropout_p = 1:', dropout_layer(X, 1))

net = nn.Sequential(nn.Flatten(), nn.Linear(8, 4), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4, 2))
with torch.no_grad():
    for p in net.parameters():
        p.copy_(torch.linspace(-0.3, 0.3, p.numel()).reshape(p.shape))
print(net)
net.eval()
print(net(X))
print(net.training, net[3].training)
net.train()
print(net[3].training, net[3].p)
