"""A small PyTorch training script, run unchanged on PyTorch and on pygrad.

    python train_mlp.py torch|pygrad DATA.npz

The initial weights and the data come from DATA.npz, so both runs start from the same point.
"""
import sys

import numpy as np

if sys.argv[1] == "pygrad":
    import pygrad as torch
else:
    import torch
nn = torch.nn
F = torch.nn.functional

data = np.load(sys.argv[2])
x, y = torch.from_numpy(data["x"]), torch.from_numpy(data["y"])

model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3))
model.load_state_dict({k: torch.from_numpy(data["init." + k]) for k in model.state_dict()})
print(model)

loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
head_opt = torch.optim.Adam(model[4].parameters(), lr=0.005)


def smooth_hinge(logits, target):
    """A custom loss: softplus of the margin between the target logit and the best other one."""
    picked = logits.gather(1, target.unsqueeze(1))
    others = torch.where(F.one_hot(target, 3).bool(), -1e9, logits).max(dim=1, keepdim=True).values
    return F.softplus(1 - (picked - others)).mean()


step = 0
for epoch in range(3):
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb, label_smoothing=0.05)
        loss.backward()
        optimizer.step()
        if step % 3 == 0:
            print(f"epoch {epoch} step {step:3d} loss {loss.item():.4f} lr {scheduler.get_last_lr()[0]:.4f}")
        step += 1
    scheduler.step()

# transfer: freeze everything but the head and train it with a custom loss
for p in model[0].parameters():
    p.requires_grad = False
for p in model[2].parameters():
    p.requires_grad_(False)
frozen = model[0].weight.detach().clone()
for xb, yb in loader:
    head_opt.zero_grad()
    loss = smooth_hinge(model(xb), yb)
    loss.backward()
    head_opt.step()
    print(f"head loss {loss.item():.4f}")
print("frozen unchanged:", (model[0].weight == frozen).sum().item() == frozen.numel())

model.eval()
with torch.no_grad():
    logits = model(x)
    print("requires_grad under no_grad:", logits.requires_grad)
    print(f"accuracy {(logits.argmax(1) == y).float().mean().item():.4f}")
    print(f"mse to one-hot {F.mse_loss(logits.softmax(1), F.one_hot(y, 3).float()).item():.4f}")
