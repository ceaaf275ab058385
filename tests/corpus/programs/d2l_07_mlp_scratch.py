# Source: https://d2l.ai/chapter_multilayer-perceptrons/mlp-implementation.html (from scratch)
# Changes: the data are 40 fixed 5x5 inputs in 3 classes; the weights start from fixed values
#   instead of randn * sigma; 10 epochs of full-batch SGD.
import torch
from torch import nn


def relu(X):
    a = torch.zeros_like(X)
    return torch.max(X, a)


num_inputs, num_outputs, num_hiddens = 25, 3, 16
W1 = nn.Parameter(0.1 * torch.sin(torch.arange(num_inputs * num_hiddens, dtype=torch.float32)).reshape(num_inputs, num_hiddens))
b1 = nn.Parameter(torch.zeros(num_hiddens))
W2 = nn.Parameter(0.1 * torch.cos(torch.arange(num_hiddens * num_outputs, dtype=torch.float32)).reshape(num_hiddens, num_outputs))
b2 = nn.Parameter(torch.zeros(num_outputs))
params = [W1, b1, W2, b2]


def net(X):
    X = X.reshape((-1, num_inputs))
    H = relu(X @ W1 + b1)
    return (H @ W2 + b2)


X = torch.cos(torch.arange(40 * 25, dtype=torch.float32) * 0.29).reshape(40, 5, 5)
y = torch.arange(40) % 3
loss = nn.CrossEntropyLoss(reduction='none')
updater = torch.optim.SGD(params, lr=0.1)
for epoch in range(10):
    l = loss(net(X), y)
    updater.zero_grad()
    l.mean().backward()
    updater.step()
    acc = (net(X).argmax(1) == y).float().mean()
    print(f'epoch {epoch + 1}: loss {l.mean().item():.5f}, train acc {acc.item():.3f}')
print(relu(torch.tensor([-1.0, 0.0, 2.5])))
