# Source: https://pytorch.org/docs/stable/generated/torch.nn.utils.clip_grad_norm_.html and the
#   gradient-clipping use in https://github.com/pytorch/examples/blob/main/word_language_model/main.py
# Changes: a fixed-weight model and input; parameters_to_vector / vector_to_parameters added from
#   https://pytorch.org/docs/stable/generated/torch.nn.utils.parameters_to_vector.html.
import torch
from torch import nn

model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.linspace(-2, 2, p.numel()).reshape(p.shape))
x = torch.linspace(-3, 3, 9).reshape(3, 3)
(model(x) ** 2).sum().backward()
total = nn.utils.clip_grad_norm_(model.parameters(), 0.25)
print(total)
print(torch.norm(torch.stack([p.grad.norm() for p in model.parameters()])))
nn.utils.clip_grad_value_(model.parameters(), 0.05)
print(model[0].weight.grad)
vec = nn.utils.parameters_to_vector(model.parameters())
print(vec.shape, vec[:5])
nn.utils.vector_to_parameters(vec * 0.5, model.parameters())
print(model[2].bias)
