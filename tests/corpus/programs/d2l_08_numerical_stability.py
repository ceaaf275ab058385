# Source: https://d2l.ai/chapter_multilayer-perceptrons/numerical-stability-and-init.html
# Changes: the plot is replaced by printing a few values; the product of random matrices uses fixed
#   matrices.
import torch

x = torch.arange(-8.0, 8.0, 0.1, requires_grad=True)
y = torch.sigmoid(x)
y.backward(torch.ones_like(x))
print(x.shape, x[::20])
print(y[::20])
print(x.grad[::20])
print(x.grad.max(), x.grad.argmax())

M = torch.eye(4) + 0.5 * torch.sin(torch.arange(16, dtype=torch.float32)).reshape(4, 4)
print('a single matrix \n', M)
for i in range(20):
    M = M @ (torch.eye(4) + 0.5 * torch.cos(torch.arange(16, dtype=torch.float32) + i).reshape(4, 4))
print('after multiplying 20 matrices\n', M)
