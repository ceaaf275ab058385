# Source: https://pytorch.org/tutorials/beginner/basics/buildmodel_tutorial.html
#   ("Build the Neural Network")
# Changes: the random input images are fixed values; parameters are set from a fixed sequence
#   instead of the random initialisation; the device is "cpu".
import torch
from torch import nn

device = "cpu"
print(f"Using {device} device")


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28*28, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


model = NeuralNetwork().to(device)
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(0.05 * torch.sin(torch.arange(p.numel(), dtype=torch.float32) * 0.013 + i).reshape(p.shape))
print(model)

X = torch.cos(torch.arange(28 * 28, dtype=torch.float32) * 0.05).reshape(1, 28, 28)
logits = model(X)
pred_probab = nn.Softmax(dim=1)(logits)
y_pred = pred_probab.argmax(1)
print(f"Predicted class: {y_pred}")

input_image = torch.linspace(0, 1, 3 * 28 * 28).reshape(3, 28, 28)
print(input_image.size())
flatten = nn.Flatten()
flat_image = flatten(input_image)
print(flat_image.size())

layer1 = nn.Linear(in_features=28*28, out_features=20)
with torch.no_grad():
    layer1.weight.copy_(torch.sin(torch.arange(20 * 784, dtype=torch.float32)).reshape(20, 784) * 0.05)
    layer1.bias.fill_(0.01)
hidden1 = layer1(flat_image)
print(hidden1.size())
print(f"Before ReLU: {hidden1}\n\n")
hidden1 = nn.ReLU()(hidden1)
print(f"After ReLU: {hidden1}")

print(f"Model structure: {model}\n\n")
for name, param in model.named_parameters():
    print(f"Layer: {name} | Size: {param.size()} | Values : {param[:2]} \n")
