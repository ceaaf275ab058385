# Source: https://d2l.ai/chapter_linear-regression/linear-regression-scratch.html
#   (classic version: synthetic_data, data_iter, linreg, squared_loss, sgd)
# Changes: the Gaussian features and noise are replaced by fixed sine/cosine values; data_iter does
#   not shuffle; w starts from fixed values instead of normal(0, 0.01).
import torch


def synthetic_data(w, b, num_examples):
    X = torch.sin(torch.arange(num_examples * len(w), dtype=torch.float32) * 0.731).reshape((num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += 0.01 * torch.cos(torch.arange(num_examples, dtype=torch.float32) * 1.3)
    return X, y.reshape((-1, 1))


true_w = torch.tensor([2, -3.4])
true_b = 4.2
features, labels = synthetic_data(true_w, true_b, 1000)
print('features:', features[0], '\nlabel:', labels[0])


def data_iter(batch_size, features, labels):
    num_examples = len(features)
    indices = list(range(num_examples))
    for i in range(0, num_examples, batch_size):
        batch_indices = torch.tensor(indices[i: min(i + batch_size, num_examples)])
        yield features[batch_indices], labels[batch_indices]


batch_size = 10
for X, y in data_iter(batch_size, features, labels):
    print(X, '\n', y)
    break

w = torch.tensor([[0.01], [-0.02]], requires_grad=True)
b = torch.zeros(1, requires_grad=True)


def linreg(X, w, b):
    return torch.matmul(X, w) + b


def squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


lr = 0.03
num_epochs = 3
net = linreg
loss = squared_loss
for epoch in range(num_epochs):
    for X, y in data_iter(batch_size, features, labels):
        l = loss(net(X, w, b), y)
        l.sum().backward()
        sgd([w, b], lr, batch_size)
    with torch.no_grad():
        train_l = loss(net(features, w, b), labels)
        print(f'epoch {epoch + 1}, loss {float(train_l.mean()):f}')

print(f'error in estimating w: {true_w - w.reshape(true_w.shape)}')
print(f'error in estimating b: {true_b - b}')
