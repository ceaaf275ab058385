# Source: https://d2l.ai/chapter_linear-classification/softmax-regression-scratch.html
# Changes: Fashion-MNIST is replaced by 60 fixed 4x4 inputs in 3 classes; W starts from fixed
#   values; 5 epochs of plain SGD on the whole set.
import torch


def softmax(X):
    X_exp = torch.exp(X)
    partition = X_exp.sum(1, keepdims=True)
    return X_exp / partition


X = torch.tensor([[0.1, 0.5, 0.2], [0.4, 0.3, 0.9]])
X_prob = softmax(X)
print(X_prob, X_prob.sum(1))

y = torch.tensor([0, 2])
y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
print(y_hat[[0, 1], y])


def cross_entropy(y_hat, y):
    return -torch.log(y_hat[list(range(len(y_hat))), y]).mean()


print(cross_entropy(y_hat, y))


def accuracy(y_hat, y):
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


print(accuracy(y_hat, y) / len(y))

num_inputs, num_outputs = 16, 3
W = (0.01 * torch.cos(torch.arange(48, dtype=torch.float32))).reshape(16, 3).requires_grad_(True)
b = torch.zeros(num_outputs, requires_grad=True)


def net(X):
    X = X.reshape((-1, W.shape[0]))
    return softmax(torch.matmul(X, W) + b)


features = torch.sin(torch.arange(60 * 16, dtype=torch.float32) * 0.37).reshape(60, 4, 4)
labels = (features.reshape(60, 16)[:, :3].argmax(1))
lr = 0.5
for epoch in range(5):
    l = cross_entropy(net(features), labels)
    l.backward()
    with torch.no_grad():
        W -= lr * W.grad
        b -= lr * b.grad
        W.grad.zero_()
        b.grad.zero_()
    print(f'epoch {epoch + 1}, loss {l.item():.4f}, acc {accuracy(net(features), labels) / len(labels):.3f}')
