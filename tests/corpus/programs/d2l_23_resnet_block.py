# Source: https://d2l.ai/chapter_convolutional-modern/resnet.html (Residual Networks: the
#   Residual block and the first ResNet stages, built with lazy layers)
# Changes: the random input is a fixed tensor; the lazily created parameters are overwritten with
#   fixed values (and the batch-norm statistics reset) after the first call so that the outputs
#   can be printed; the network stops after two residual stages and runs three SGD steps on a
#   made-up target instead of training on Fashion-MNIST.
import torch
from torch import nn
from torch.nn import functional as F


class Residual(nn.Module):
    """The Residual block of ResNet models."""
    def __init__(self, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1,
                                   stride=strides)
        self.conv2 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1)
        if use_1x1conv:
            self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1,
                                       stride=strides)
        else:
            self.conv3 = None
        self.bn1 = nn.LazyBatchNorm2d()
        self.bn2 = nn.LazyBatchNorm2d()

    def forward(self, X):
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3:
            X = self.conv3(X)
        Y += X
        return F.relu(Y)


def fix_parameters(net):
    with torch.no_grad():
        for i, p in enumerate(net.parameters()):
            p.copy_(torch.linspace(-0.2, 0.25 + 0.01 * i, p.numel()).reshape(p.shape))
    for m in net.modules():  # the shape pass above ran the random initial values through them
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()


X = torch.linspace(-1, 1, 4 * 3 * 6 * 6).reshape(4, 3, 6, 6)
blk = Residual(3)
print(blk(X).shape)
blk = Residual(6, use_1x1conv=True, strides=2)
print(blk(X).shape)
print(blk)


def b1():
    return nn.Sequential(
        nn.LazyConv2d(8, kernel_size=7, stride=2, padding=3),
        nn.LazyBatchNorm2d(), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1))


def block(num_residuals, num_channels, first_block=False):
    blk = []
    for i in range(num_residuals):
        if i == 0 and not first_block:
            blk.append(Residual(num_channels, use_1x1conv=True, strides=2))
        else:
            blk.append(Residual(num_channels))
    return nn.Sequential(*blk)


net = nn.Sequential(b1(), block(2, 8, first_block=True), block(2, 16),
                    nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.LazyLinear(4))
X = torch.linspace(-1, 1, 2 * 1 * 24 * 24).reshape(2, 1, 24, 24)
for layer in net:
    X = layer(X)
    print(layer.__class__.__name__, 'output shape:\t', X.shape)
fix_parameters(net)
X = torch.linspace(-1, 1, 2 * 1 * 24 * 24).reshape(2, 1, 24, 24)
y = torch.tensor([1, 3])
optimizer = torch.optim.SGD(net.parameters(), lr=0.05)
for epoch in range(3):
    loss = F.cross_entropy(net(X), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(f'epoch {epoch}, loss {loss.item():.4f}')
net.eval()
print(net(X))
print(net[1][0].bn1.running_mean)
