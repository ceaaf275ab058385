# Source: https://d2l.ai/chapter_linear-regression/weight-decay.html (classic "from scratch" version)
# Changes: 20 training and 20 test examples with fixed features instead of Gaussian draws; 40
#   epochs of full-batch training; fixed initial weights.
import torch
from torch import nn

n_train, n_test, num_inputs = 20, 20, 50
true_w, true_b = torch.ones((num_inputs, 1)) * 0.01, 0.05
train_X = torch.sin(torch.arange(n_train * num_inputs, dtype=torch.float32) * 0.17).reshape(n_train, num_inputs)
test_X = torch.cos(torch.arange(n_test * num_inputs, dtype=torch.float32) * 0.23).reshape(n_test, num_inputs)
train_y = train_X @ true_w + true_b
test_y = test_X @ true_w + true_b


def init_params():
    w = (0.01 * torch.cos(torch.arange(num_inputs, dtype=torch.float32))).reshape(num_inputs, 1).requires_grad_(True)
    b = torch.zeros(1, requires_grad=True)
    return [w, b]


def l2_penalty(w):
    return torch.sum(w.pow(2)) / 2


def train(lambd):
    w, b = init_params()
    num_epochs, lr = 40, 0.01
    for epoch in range(num_epochs):
        l = ((train_X @ w + b - train_y) ** 2 / 2).sum() + lambd * l2_penalty(w)
        l.backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
            w.grad.zero_()
            b.grad.zero_()
        if (epoch + 1) % 10 == 0:
            with torch.no_grad():
                test_l = ((test_X @ w + b - test_y) ** 2 / 2).mean()
            print(f'epoch {epoch + 1}: train {l.item():.6f} test {test_l.item():.6f}')
    print('L2 norm of w:', torch.norm(w).item())


train(lambd=0)
train(lambd=3)

net = nn.Sequential(nn.Linear(num_inputs, 1))
for param in net.parameters():
    param.data.fill_(0.02)
trainer = torch.optim.SGD([{"params": net[0].weight, 'weight_decay': 3}, {"params": net[0].bias}], lr=0.01)
for epoch in range(10):
    trainer.zero_grad()
    l = nn.MSELoss()(net(train_X), train_y)
    l.backward()
    trainer.step()
print('concise L2 norm of w:', net[0].weight.norm().item())
