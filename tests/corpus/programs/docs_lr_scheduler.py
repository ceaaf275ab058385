# Source: https://pytorch.org/docs/stable/optim.html ("How to adjust learning rate" and the
#   scheduler examples in torch.optim.lr_scheduler's docstrings)
# Changes: a one-parameter model with fixed weights stands in for `model`; the training step is a
#   fixed quadratic loss; the learning rates are printed.
import torch
from torch.optim.lr_scheduler import (ChainedScheduler, ConstantLR, CosineAnnealingWarmRestarts, ExponentialLR,
                                      LinearLR, MultiStepLR, OneCycleLR, ReduceLROnPlateau, SequentialLR, StepLR)

w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))


def train_step(optimizer):
    optimizer.zero_grad()
    loss = (w ** 2).sum()
    loss.backward()
    optimizer.step()
    return loss.item()


optimizer = torch.optim.SGD([w], lr=0.01, momentum=0.9)
scheduler1 = ExponentialLR(optimizer, gamma=0.9)
scheduler2 = MultiStepLR(optimizer, milestones=[3, 6], gamma=0.1)
for epoch in range(8):
    train_step(optimizer)
    scheduler1.step()
    scheduler2.step()
    print(epoch, scheduler2.get_last_lr())

optimizer = torch.optim.SGD([w], lr=0.05)
scheduler = StepLR(optimizer, step_size=3, gamma=0.1)
print([round(train_step(optimizer) or 0, 6) for _ in range(1)], scheduler.get_last_lr())
for epoch in range(7):
    scheduler.step()
print(scheduler.get_last_lr(), scheduler.state_dict()['last_epoch'])

optimizer = torch.optim.SGD([w], lr=1.0)
scheduler = SequentialLR(optimizer, schedulers=[ConstantLR(optimizer, factor=0.1, total_iters=2),
                                                ExponentialLR(optimizer, gamma=0.9)], milestones=[2])
lrs = []
for epoch in range(6):
    optimizer.step()
    scheduler.step()
    lrs.append(round(scheduler.get_last_lr()[0], 6))
print(lrs)

optimizer = torch.optim.SGD([w], lr=1.0)
scheduler = ChainedScheduler([ConstantLR(optimizer, factor=0.1, total_iters=2),
                              ExponentialLR(optimizer, gamma=0.9)], optimizer=optimizer)
print([round(scheduler.get_last_lr()[0], 6)] + [(optimizer.step(), scheduler.step(), round(scheduler.get_last_lr()[0], 6))[2] for _ in range(4)])

optimizer = torch.optim.SGD([w], lr=0.1, momentum=0.9)
scheduler = ReduceLROnPlateau(optimizer, 'min', patience=1)
for val_loss in [1.0, 0.9, 0.95, 0.97, 0.96, 0.99, 0.5]:
    optimizer.step()
    scheduler.step(val_loss)
    print(val_loss, optimizer.param_groups[0]['lr'])

optimizer = torch.optim.SGD([w], lr=0.1, momentum=0.9)
scheduler = OneCycleLR(optimizer, max_lr=0.01, steps_per_epoch=4, epochs=2)
for step in range(8):
    optimizer.step()
    scheduler.step()
print([round(x, 8) for x in scheduler.get_last_lr()], round(optimizer.param_groups[0]['momentum'], 6))

optimizer = torch.optim.SGD([w], lr=0.1)
scheduler = CosineAnnealingWarmRestarts(optimizer, T_0=3, T_mult=2, eta_min=0.001)
print([round(scheduler.get_last_lr()[0], 6)] + [(optimizer.step(), scheduler.step(), round(scheduler.get_last_lr()[0], 6))[2] for _ in range(9)])
optimizer = torch.optim.SGD([w], lr=0.05)
scheduler = LinearLR(optimizer, start_factor=0.5, total_iters=4)
print([(optimizer.step(), scheduler.step(), round(scheduler.get_last_lr()[0], 6))[2] for _ in range(6)])
