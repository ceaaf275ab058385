# Source: https://pytorch.org/docs/stable/generated/torch.nn.Module.html (register_forward_hook,
#   register_forward_pre_hook, register_full_backward_hook) as used for feature extraction in
#   https://pytorch.org/tutorials/intermediate/forward_ad_usage.html-era examples
# Changes: a small fixed-weight model; the captured activations are printed.
import torch
from torch import nn

model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.linspace(-0.5, 0.5, p.numel()).reshape(p.shape))

activation = {}


def get_activation(name):
    def hook(model, input, output):
        activation[name] = output.detach()
    return hook


h1 = model[1].register_forward_hook(get_activation('relu'))
h2 = model[0].register_forward_pre_hook(lambda module, args: (args[0] * 2,))
grads = []
h3 = model[2].register_full_backward_hook(lambda module, grad_input, grad_output: grads.append(grad_output[0]))
x = torch.tensor([[1.0, 2.0, 3.0]])
out = model(x)
print(out)
print(activation['relu'])
out.sum().backward()
print(grads)
for h in (h1, h2, h3):
    h.remove()
print(model(x))
