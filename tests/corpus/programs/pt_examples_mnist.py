# Source: https://github.com/pytorch/examples/blob/main/mnist/main.py (Net, train, test; Adadelta and
#   StepLR)
# Changes: MNIST is replaced by 32 fixed 28x28 images in 10 classes (no download); the dropout layers
#   are left out (their random masks differ between libraries); fixed initial weights; 2 epochs.
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, 1)
        self.conv2 = nn.Conv2d(4, 8, 3, 1)
        self.fc1 = nn.Linear(1152, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(model, device, train_loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
            epoch, batch_idx * len(data), len(train_loader.dataset),
            100. * batch_idx / len(train_loader), loss.item()))


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
        test_loss, correct, len(test_loader.dataset),
        100. * correct / len(test_loader.dataset)))


device = torch.device("cpu")
images = ((torch.sin(torch.arange(32 * 28 * 28, dtype=torch.float32) * 0.05) + 1) / 2).reshape(32, 1, 28, 28)
images = (images - 0.1307) / 0.3081
labels = torch.arange(32) % 10
train_loader = DataLoader(TensorDataset(images, labels), batch_size=16)
test_loader = DataLoader(TensorDataset(images[:16], labels[:16]), batch_size=8)

model = Net().to(device)
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(0.1 * torch.sin(torch.arange(p.numel(), dtype=torch.float32) * 0.61 + i).reshape(p.shape))
optimizer = optim.Adadelta(model.parameters(), lr=1.0)
scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
for epoch in range(1, 3):
    train(model, device, train_loader, optimizer, epoch)
    test(model, device, test_loader)
    scheduler.step()
print(scheduler.get_last_lr())
