# Source: https://d2l.ai/chapter_convolutional-modern/batch-norm.html (batch_norm from scratch)
# Changes: fixed inputs; a few forward passes in training and eval mode instead of training LeNet.
import torch
from torch import nn


def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
    if not torch.is_grad_enabled():
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        assert len(X.shape) in (2, 4)
        if len(X.shape) == 2:
            mean = X.mean(dim=0)
            var = ((X - mean) ** 2).mean(dim=0)
        else:
            mean = X.mean(dim=(0, 2, 3), keepdim=True)
            var = ((X - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
        X_hat = (X - mean) / torch.sqrt(var + eps)
        moving_mean = (1.0 - momentum) * moving_mean + momentum * mean
        moving_var = (1.0 - momentum) * moving_var + momentum * var
    Y = gamma * X_hat + beta
    return Y, moving_mean.data, moving_var.data


class BatchNorm(nn.Module):
    def __init__(self, num_features, num_dims):
        super().__init__()
        if num_dims == 2:
            shape = (1, num_features)
        else:
            shape = (1, num_features, 1, 1)
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.moving_mean = torch.zeros(shape)
        self.moving_var = torch.ones(shape)

    def forward(self, X):
        if self.moving_mean.device != X.device:
            self.moving_mean = self.moving_mean.to(X.device)
            self.moving_var = self.moving_var.to(X.device)
        Y, self.moving_mean, self.moving_var = batch_norm(
            X, self.gamma, self.beta, self.moving_mean,
            self.moving_var, eps=1e-5, momentum=0.1)
        return Y


X = torch.sin(torch.arange(2 * 3 * 4 * 4, dtype=torch.float32)).reshape(2, 3, 4, 4)
ours = BatchNorm(3, num_dims=4)
builtin = nn.BatchNorm2d(3)
for step in range(3):
    a = ours(X + step)
    b = builtin(X + step)
    print(step, a[0, :, 0, 0], (a - b).abs().max() < 1e-5)
print(ours.moving_mean.reshape(-1), builtin.running_mean)
print(ours.moving_var.reshape(-1), builtin.running_var)
with torch.no_grad():
    print(ours(X)[1, :, 1, 1])
builtin.eval()
print(builtin(X)[1, :, 1, 1])
y = BatchNorm(4, num_dims=2)(torch.linspace(0, 1, 12).reshape(3, 4))
print(y)
y.sum().backward()
