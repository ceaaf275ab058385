# Source: https://pytorch.org/docs/stable/checkpoint.html (torch.utils.checkpoint.checkpoint and
#   checkpoint_sequential)
# Changes: a small fixed-weight model; the gradients with and without checkpointing are compared.
import torch
import torch.nn as nn
from torch.utils.checkpoint import checkpoint, checkpoint_sequential

model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(0.3 * torch.sin(torch.arange(p.numel(), dtype=torch.float32) + i).reshape(p.shape))
x = torch.linspace(-1, 1, 12).reshape(3, 4).requires_grad_()

model(x).sum().backward()
plain = [p.grad.clone() for p in model.parameters()] + [x.grad.clone()]

for use_reentrant in (True, False):
    model.zero_grad()
    x.grad = None
    out = checkpoint(model[:2], x, use_reentrant=use_reentrant)
    out = model[2:](out)
    out.sum().backward()
    grads = [p.grad for p in model.parameters()] + [x.grad]
    print(use_reentrant, all(torch.allclose(a, b) for a, b in zip(grads, plain)))

model.zero_grad()
x.grad = None
out = checkpoint_sequential(model, 2, x, use_reentrant=False)
out.sum().backward()
print(all(torch.allclose(p.grad, g) for p, g in zip(model.parameters(), plain)))
print(out)
