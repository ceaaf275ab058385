# Source: https://pytorch.org/tutorials/beginner/nn_tutorial.html ("What is torch.nn really?")
# Changes: MNIST is replaced by 128 fixed 49-pixel inputs in 10 classes (no download); the random
#   initial weights are fixed values; one epoch per stage, printed losses and accuracies.
import math

import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset

n, d = 128, 49
x_train = (torch.sin(torch.arange(n * d, dtype=torch.float32) * 0.123) + 1) / 2
x_train = x_train.reshape(n, d)
y_train = (torch.arange(n) * 3) % 10
print(x_train.shape, y_train.min(), y_train.max())

weights = torch.cos(torch.arange(d * 10, dtype=torch.float32)).reshape(d, 10) / math.sqrt(d)
weights.requires_grad_()
bias = torch.zeros(10, requires_grad=True)


def log_softmax(x):
    return x - x.exp().sum(-1).log().unsqueeze(-1)


def model(xb):
    return log_softmax(xb @ weights + bias)


bs = 64
xb = x_train[0:bs]
preds = model(xb)
print(preds[0], preds.shape)


def nll(input, target):
    return -input[range(target.shape[0]), target].mean()


loss_func = nll
yb = y_train[0:bs]
print(loss_func(preds, yb))


def accuracy(out, yb):
    preds = torch.argmax(out, dim=1)
    return (preds == yb).float().mean()


print(accuracy(preds, yb))

lr = 0.5
epochs = 2
for epoch in range(epochs):
    for i in range((n - 1) // bs + 1):
        start_i = i * bs
        end_i = start_i + bs
        xb = x_train[start_i:end_i]
        yb = y_train[start_i:end_i]
        pred = model(xb)
        loss = loss_func(pred, yb)
        loss.backward()
        with torch.no_grad():
            weights -= weights.grad * lr
            bias -= bias.grad * lr
            weights.grad.zero_()
            bias.grad.zero_()
print(loss_func(model(xb), yb), accuracy(model(xb), yb))

loss_func = F.cross_entropy
print(loss_func(xb @ weights + bias, yb), accuracy(xb @ weights + bias, yb))


class Mnist_Logistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(d, 10)

    def forward(self, xb):
        return self.lin(xb)


def get_model():
    model = Mnist_Logistic()
    with torch.no_grad():
        model.lin.weight.copy_(torch.cos(torch.arange(d * 10, dtype=torch.float32)).reshape(10, d) / math.sqrt(d))
        model.lin.bias.zero_()
    return model, optim.SGD(model.parameters(), lr=lr)


train_ds = TensorDataset(x_train, y_train)
train_dl = DataLoader(train_ds, batch_size=bs)
model, opt = get_model()
print(loss_func(model(xb), yb))
for epoch in range(epochs):
    model.train()
    for xb, yb in train_dl:
        pred = model(xb)
        loss = loss_func(pred, yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    with torch.no_grad():
        valid_loss = sum(loss_func(model(xb), yb) for xb, yb in train_dl)
    print(epoch, valid_loss / len(train_dl))
