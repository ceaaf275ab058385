# Source: https://pytorch.org/tutorials/beginner/saving_loading_models.html
#   ("Saving and Loading Models": state_dict of a model and an optimizer, save/load, checkpoints)
# Changes: the model's weights are fixed values; files go to the scratch directory; the printed
#   state is the tutorial's (names and sizes).
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim


class TheModelClass(nn.Module):
    def __init__(self):
        super(TheModelClass, self).__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


model = TheModelClass()
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(0.05 * torch.sin(torch.arange(p.numel(), dtype=torch.float32) * 0.11 + i).reshape(p.shape))
optimizer = optim.SGD(model.parameters(), lr=0.001, momentum=0.9)

print("Model's state_dict:")
for param_tensor in model.state_dict():
    print(param_tensor, "\t", model.state_dict()[param_tensor].size())

print("Optimizer's state_dict:")
for var_name in optimizer.state_dict():
    print(var_name, "\t", optimizer.state_dict()[var_name])

x = torch.cos(torch.arange(2 * 3 * 32 * 32, dtype=torch.float32) * 0.01).reshape(2, 3, 32, 32)
loss = model(x).pow(2).mean()
loss.backward()
optimizer.step()

PATH = "model.pt"
torch.save({'epoch': 5, 'model_state_dict': model.state_dict(),
            'optimizer_state_dict': optimizer.state_dict(), 'loss': loss}, PATH)

model2 = TheModelClass()
optimizer2 = optim.SGD(model2.parameters(), lr=0.001, momentum=0.9)
checkpoint = torch.load(PATH, weights_only=True)
model2.load_state_dict(checkpoint['model_state_dict'])
optimizer2.load_state_dict(checkpoint['optimizer_state_dict'])
epoch = checkpoint['epoch']
print(epoch, round(checkpoint['loss'].item(), 6))
model2.eval()
print(torch.equal(model2(x), model(x)))
print(sorted(optimizer2.state_dict()['state'].keys()))
print(optimizer2.state_dict()['state'][0]['momentum_buffer'].shape)
